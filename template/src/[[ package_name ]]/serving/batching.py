"""Micro-batching inside one worker, only where it wins: predictions that queue behind a running
model call go through the model together, as one batch; the others call the model directly.

There is no background thread (nothing to break when gunicorn forks); the requests themselves take
turns. The design is opportunistic batching, after the "leader/followers" and "flat combining"
patterns (Schmidt et al., POSA2, 2000; Hendler et al., SPAA 2010) that Triton's and TF Serving's
dynamic batchers reduce to when their queue delay is 0:

- A request that finds no model call running in its worker runs alone, at once: it never waits on
  a timer, so concurrency 1 costs what it costs without batching.
- A request that arrives while a model call is running queues. When that call ends, the oldest
  queued request runs the queue (at most `max_batch_size` images) as one batch and hands every
  caller its row; requests that arrive meanwhile form the next batch.
- An estimate decides whether batching can pay at all: exponential moving averages of the model
  call's wall time and of the request's own time outside the model (in its thread: from its
  previous prediction's end to this one's start: HTTP parsing, decoding, preprocessing, the
  answer). While the model call is cheaper than `min_model_share` times the rest, queueing behind
  it would save little and cost a hand-off between threads, so requests call the model directly,
  concurrently and without a lock. Until both averages exist, requests take the batching path.
- `max_wait_s` > 0 turns the estimate off (every prediction goes through the batcher) and makes
  each batch's first request wait up to that long for requests already in the worker (decoding
  their upload, inside `admitted()`) and about to join: for models whose call costs far more than
  the wait. A lone request still never waits.

Each request keeps the model it started with: a batch never mixes two model versions (its requests
are grouped per model, one call each). An error in a model call reaches every caller of that call.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from prometheus_client import Counter

from .registry import LoadedModel

IDLE_CAP = 16  # a gap between a thread's predictions counts as at most this many times the threshold
# Which way each single-image prediction went: `direct` (its own model call, no lock) or `batched`
# (through the batcher, alone or with others); `make bench-serve` prints the batched share per row.
PREDICTION_PATHS = Counter("batcher_predictions_total", "Predictions by micro-batcher path", ["path"])
DIRECT, BATCHED = PREDICTION_PATHS.labels("direct"), PREDICTION_PATHS.labels("batched")


@dataclass(eq=False)
class _Pending:
    model: LoadedModel
    sample: np.ndarray
    ready: "threading.Lock | None" = None  # held until the request leads a batch or has its answer
    lead: bool = False
    result: np.ndarray | None = None
    error: BaseException | None = None


class MicroBatcher:
    """Groups the single-image predictions of one worker that queue behind a model call into batches.

    Args:
        max_batch_size: most images in one model call; <= 1 turns batching off (every call runs
            alone, directly).
        max_wait_s: seconds a batch's first request waits for requests already in the worker; 0
            (never wait, batch adaptively) or > 0 (always batch, wait up to this long).
        min_model_share: batch only while the model call's average time (s) is at least this
            fraction of the request's average time outside the model (s); below it, call directly.
        smoothing: weight of the newest measurement in both moving averages (0 < smoothing <= 1).
    """

    def __init__(
        self, max_batch_size: int, max_wait_s: float, *, min_model_share: float = 1.0, smoothing: float = 0.1
    ):
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.min_model_share = min_model_share
        self.smoothing = smoothing
        self._lock = threading.Condition()
        self._pending: list[_Pending] = []  # queued behind the running batch, oldest first
        self._running = False  # a batch runs, or is being handed to the oldest queued request
        self._inside = 0  # requests inside `admitted()` (counted only when max_wait_s > 0)
        self._thread = threading.local()  # .done: perf_counter when its last prediction ended
        self.model_s: float | None = None  # moving average of one model call's wall time (s)
        self.outside_s: float | None = None  # moving average of a request's time outside it (s)
        self.batches = 0  # counters for tests and logs: batches run, images in them (not direct calls)
        self.images = 0

    @property
    def queued(self) -> int:
        """Requests waiting for the running batch to end."""
        return len(self._pending)

    def batching(self) -> bool:
        """Whether the next prediction goes through the batcher rather than straight to the model."""
        if self.max_batch_size <= 1:
            return False
        if self.max_wait_s > 0:
            return True
        model, outside = self.model_s, self.outside_s
        return model is None or outside is None or model >= self.min_model_share * outside

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Mark a request as on its way to `probabilities` (so a waiting first request may wait for
        it); a no-op unless `max_wait_s` > 0."""
        if self.max_wait_s <= 0 or self.max_batch_size <= 1:
            yield
            return
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

        Raises whatever the engine raises for the model call this request was part of.
        """
        if self.max_batch_size <= 1:
            DIRECT.inc()
            return model.probabilities(sample[np.newaxis])[0]
        start = time.perf_counter()
        done = getattr(self._thread, "done", None)
        if done is not None:
            gap = start - done
            if self.model_s is not None and self.min_model_share > 0:
                # A longer gap (the thread was idle) decides the same: count it as no more than that.
                gap = min(gap, IDLE_CAP * self.model_s / self.min_model_share)
            self.outside_s = self._average(self.outside_s, gap)
        try:
            if not self.batching():
                DIRECT.inc()
                result = model.probabilities(sample[np.newaxis])[0]
                self.model_s = self._average(self.model_s, time.perf_counter() - start)
                return result
            BATCHED.inc()
            return self._through_batch(_Pending(model, sample))
        finally:
            self._thread.done = time.perf_counter()

    def _average(self, average: float | None, seconds: float) -> float:
        # Unlocked: two threads updating at once may lose one measurement, which an average survives.
        return seconds if average is None else average + self.smoothing * (seconds - average)

    def _through_batch(self, pending: _Pending) -> np.ndarray:
        with self._lock:
            self._pending.append(pending)
            if self._running:
                pending.ready = threading.Lock()
                pending.ready.acquire()
                if self.max_wait_s > 0:
                    self._lock.notify_all()  # a waiting first request counts its batch
            else:
                self._running = pending.lead = True
        if pending.ready is not None:
            pending.ready.acquire()  # released by the batch that answered it, or made it lead
        if pending.lead:
            self._run_batch()
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _run_batch(self) -> None:
        """Run the oldest queued requests (this one first) as one batch, then hand the model to the
        oldest request that queued meanwhile, or mark it free."""
        batch: list[_Pending] = []
        try:
            with self._lock:
                if self.max_wait_s > 0:
                    deadline = time.monotonic() + self.max_wait_s
                    while len(self._pending) < min(self.max_batch_size, self._inside):
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._lock.wait(left)
                batch = self._pending[: self.max_batch_size]
                del self._pending[: self.max_batch_size]
            for model in {id(p.model): p.model for p in batch}.values():
                group = [p for p in batch if p.model is model]
                start = time.perf_counter()
                try:
                    rows = model.probabilities(np.stack([p.sample for p in group]))
                except Exception as error:  # noqa: BLE001 - every caller of this call gets the error
                    for p in group:
                        p.error = error
                else:
                    for p, row in zip(group, rows, strict=True):
                        p.result = row
                self.model_s = self._average(self.model_s, time.perf_counter() - start)
                self.batches += 1
                self.images += len(group)
        finally:
            for p in batch:
                if p.result is None and p.error is None:  # the call was interrupted (BaseException)
                    p.error = RuntimeError("the batch this prediction was part of did not run")
            with self._lock:
                if self._pending:
                    self._pending[0].lead = True
                    self._pending[0].ready.release()
                else:
                    self._running = False
            for p in batch:
                if p.ready is not None:
                    p.ready.release()
