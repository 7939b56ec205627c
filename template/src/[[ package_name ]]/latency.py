"""One latency summary and one timing loop for every measurement in the project: the benchmark and
prune stages (models and engines called directly) and the serving benchmark (requests through
HTTP) report the same keys."""

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50 and p99 of `seconds` (one float per call, in seconds) as milliseconds.

    Returns {"latency_p50_ms", "latency_p99_ms"}; raises ValueError when `seconds` is empty.
    """
    if len(seconds) == 0:
        raise ValueError("no latencies to summarise")
    values = np.asarray(seconds, dtype=np.float64) * 1000
    return {
        "latency_p50_ms": round(float(np.percentile(values, 50)), 4),
        "latency_p99_ms": round(float(np.percentile(values, 99)), 4),
    }


def time_calls(
    run: Callable[[Any], object], inputs: Any, runs: int, warmup: int, desc: str | None = None
) -> list[float]:
    """Seconds each of `runs` calls `run(inputs)` took, after `warmup` untimed calls.

    With `desc`, the timed calls show a tqdm progress bar on a terminal (the pipeline stages; tqdm
    comes with the `train` extra, so the serving side passes none and needs no tqdm).
    """
    for _ in range(warmup):
        run(inputs)
    timings = []
    calls = range(runs)
    if desc is not None:
        from tqdm.auto import tqdm

        calls = tqdm(calls, desc=desc, unit="call", disable=None, leave=False)
    for _ in calls:
        start = time.perf_counter()
        run(inputs)
        timings.append(time.perf_counter() - start)
    return timings


def measure(
    run: Callable[[Any], object], single: Any, batch: Any, runs: int, warmup: int, desc: str | None = None
) -> dict[str, float]:
    """Batch-1 latency of `run` on `single` (p50/p99 ms over `runs` calls) and its throughput on
    `batch` (items per second over max(runs // 10, 3) calls after one untimed call). `desc` names
    the progress bars (see `time_calls`)."""
    summary = latency_summary(time_calls(run, single, runs, warmup, desc and f"{desc} batch 1"))
    batch_runs = max(runs // 10, 3)
    elapsed = sum(time_calls(run, batch, batch_runs, 1, desc and f"{desc} batch {len(batch)}"))
    return summary | {"throughput_ips": round(batch_runs * len(batch) / elapsed, 1)}
