"""Every request a locust run makes, kept for the summary: locust's own percentiles are rounded
and its error counts do not tell a refused connection from a 5xx.

A locustfile calls `record_to(path)` once; at the end of the run each request is written to
`path` as JSON lines {"name", "start", "seconds", "status", "error", "context"} (start: Unix time,
s; status 0: no HTTP answer at all, e.g. a refused or reset connection; context: what the
locustfile passed with the request, e.g. which image it sent).
"""

import json
import time
from pathlib import Path

from locust import events


def record_to(path: Path | str) -> None:
    """Keep every request of this locust process and write them to `path` when it stops."""
    rows: list[dict] = []

    @events.request.add_listener
    def on_request(name, response_time, response, exception, context=None, **_kwargs):
        seconds = response_time / 1000
        status = getattr(response, "status_code", 0) or 0
        error = None if exception is None else f"{exception.__class__.__name__}: {exception}"[:200]
        start = time.time() - seconds
        rows.append(
            {"name": name, "start": start, "seconds": seconds, "status": status, "error": error}
            | {"context": context or {}}
        )

    @events.quitting.add_listener
    def on_quitting(**_kwargs):
        Path(path).write_text("".join(json.dumps(row) + "\n" for row in rows))
