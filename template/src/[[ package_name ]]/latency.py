"""One latency summary for every measurement in the project: the benchmark stage (engines called
directly) and the serving benchmark (requests through HTTP) report the same keys."""

from collections.abc import Sequence

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
