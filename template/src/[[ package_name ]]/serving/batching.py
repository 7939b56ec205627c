"""Micro-batching inside one worker: predictions that are in the worker at the same moment go
through the model as one batch.

There is no background thread (nothing to break when gunicorn forks): the first request to reach
the batcher leads. It waits at most `max_wait_s`, and only while other requests are already in the
worker (decoding their upload) and about to join, then runs the batch and hands each caller its
row. A lone request therefore never waits, so concurrency 1 costs what it cost without batching.
Each request keeps the model it started with: a batch never mixes two model versions.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .registry import LoadedModel


@dataclass
class _Pending:
    model: LoadedModel
    sample: np.ndarray
    ready: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    result: np.ndarray | None = None
    error: BaseException | None = None


class MicroBatcher:
    """Groups concurrent single-image predictions of one worker into batches.

    `max_batch_size` <= 1 turns batching off (every call runs alone). `max_wait_s` is the longest
    a leading request waits for others (seconds).
    """

    def __init__(self, max_batch_size: int, max_wait_s: float):
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self._lock = threading.Condition()
        self._pending: list[_Pending] = []
        self._inside = 0  # requests between `admitted()` and the end of their prediction
        self.batches = 0  # counters for tests and logs: batches run, images in them
        self.images = 0

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Mark a request as on its way to `probabilities` (so a leader may wait for it)."""
        with self._lock:
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                self._lock.notify_all()

    def probabilities(self, model: LoadedModel, sample: np.ndarray) -> np.ndarray:
        """Class probabilities float64 (K,) for one preprocessed float32 image (C, H, W).

        Raises whatever the engine raises for this request's batch.
        """
        if self.max_batch_size <= 1:
            return model.probabilities(sample[np.newaxis])[0]
        pending = _Pending(model, sample)
        with self._lock:
            self._pending.append(pending)
            pending.lead = len(self._pending) == 1
            self._lock.notify_all()
        while not pending.lead:
            pending.ready.wait()
            pending.ready.clear()
            if pending.result is not None or pending.error is not None:
                if pending.error is not None:
                    raise pending.error
                return pending.result
        self._lead()
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _lead(self) -> None:
        deadline = time.monotonic() + self.max_wait_s
        with self._lock:
            while len(self._pending) < min(self.max_batch_size, self._inside):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            batch = self._pending[: self.max_batch_size]
            del self._pending[: self.max_batch_size]
            if self._pending:  # the rest form the next batch, led by the oldest
                self._pending[0].lead = True
                self._pending[0].ready.set()
        for model in {id(p.model): p.model for p in batch}.values():
            group = [p for p in batch if p.model is model]
            try:
                rows = model.probabilities(np.stack([p.sample for p in group]))
            except Exception as error:  # noqa: BLE001 - every caller of this batch gets the error
                for p in group:
                    p.error = error
            else:
                for p, row in zip(group, rows, strict=True):
                    p.result = row
            self.batches += 1
            self.images += len(group)
        for p in batch:
            p.ready.set()
