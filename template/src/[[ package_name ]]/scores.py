"""From logits to scores: the one softmax of the project (evaluation reports, the server, the
serving benchmark's peer)."""

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of float (N, K) logits; returns float64 (N, K) probabilities, rows sum to 1.

    The row maximum is subtracted first, so large logits do not overflow `exp`.
    """
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
