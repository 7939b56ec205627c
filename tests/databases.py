"""Throwaway MariaDB and PostgreSQL servers: the generated project's own helper
(template/tests/databases.py, which its load-and-faults test uses too), loaded from the template."""

import importlib.util
from pathlib import Path

_SOURCE = Path(__file__).resolve().parents[1] / "template" / "tests" / "databases.py"
_spec = importlib.util.spec_from_file_location("template_databases", _SOURCE)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

MariaDB, PostgreSQL, free_port, wait_until = (
    _module.MariaDB,
    _module.PostgreSQL,
    _module.free_port,
    _module.wait_until,
)
