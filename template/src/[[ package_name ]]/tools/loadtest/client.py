"""Run locust headless against a server and summarise what every request got."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from ...latency import latency_summary

LOCUSTFILE = Path(__file__).with_name("upload_locustfile.py")


def run_locust(
    host: str,
    users: int,
    seconds: float,
    record: Path,
    env: dict[str, str],
    locustfile: Path = LOCUSTFILE,
) -> list[dict]:
    """`users` locust users (all started at once, no think time) for `seconds` against `host`.

    `env` configures the locustfile (e.g. LOAD_PATH, LOAD_IMAGES); the rows of every request are
    written to `record` and returned (see recorder.py for their keys). Raises RuntimeError when
    locust itself fails (not when requests fail: those are in the rows).
    """
    record.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
        "--host", host, "-u", str(users), "-r", str(users), "-t", f"{math.ceil(seconds)}s",
        "--stop-timeout", "10", "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    full_env = os.environ | env | {"LOAD_RECORD": str(record)}
    result = subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=seconds + 120)
    if result.returncode != 0 or not record.exists():
        raise RuntimeError(f"locust failed ({result.returncode}): {result.stderr[-2000:]}")
    return [json.loads(line) for line in record.read_text().splitlines()]


def summarise(rows: list[dict], skip_seconds: float = 0.0) -> dict:
    """Throughput, latency and errors of locust rows, leaving out those that started in the first
    `skip_seconds` (warm-up).

    Returns {"requests", "ok", "errors", "no_answer", "server_errors", "rps", "latency_p50_ms",
    "latency_p99_ms"}: rps counts successful (2xx) answers per second of the measured window;
    `errors` is every other outcome, of which `no_answer` got no HTTP response (status 0) and
    `server_errors` a 5xx. Raises ValueError when no request remains.
    """
    if not rows:
        raise ValueError("locust made no requests")
    first = min(row["start"] for row in rows) + skip_seconds
    kept = [row for row in rows if row["start"] >= first]
    if not kept:
        raise ValueError("no request after the warm-up")
    ok = [row for row in kept if 200 <= row["status"] < 300 and row["error"] is None]
    window = max(row["start"] + row["seconds"] for row in kept) - first
    summary = {
        "requests": len(kept),
        "ok": len(ok),
        "errors": len(kept) - len(ok),
        "no_answer": sum(row["status"] == 0 for row in kept),
        "server_errors": sum(row["status"] >= 500 for row in kept),
        "rps": round(len(ok) / window, 1),
    }
    return summary | latency_summary([row["seconds"] for row in ok or kept])
