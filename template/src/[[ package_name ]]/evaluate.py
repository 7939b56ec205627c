"""Stage `evaluate`: test-split accuracy, per-class F1 and a confusion matrix for `dvc plots`."""

import csv

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score

from .data.dataset import batches, load_split
from .data.preprocessing import PreprocessConfig
from .model.checkpoint import load_checkpoint
from .params import load_params, write_json
from .paths import CHECKPOINT, CONFUSION, SPLITS_DIR
from .paths import EVALUATE_METRICS as METRICS


@torch.no_grad()
def predict_split(model: torch.nn.Module, dataset, workers: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(true labels, predicted labels), int64 (N,) each, streaming the split batch by batch."""
    labels, predicted = [], []
    for images, batch_labels in batches(dataset, 256, workers, desc="evaluate"):
        predicted.append(model(torch.from_numpy(images)).argmax(1).numpy())
        labels.append(batch_labels)
    if not labels:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(labels), np.concatenate(predicted)


def classification_metrics(labels: np.ndarray, predicted: np.ndarray, classes: list[str]) -> dict:
    per_class = f1_score(labels, predicted, labels=list(range(len(classes))), average=None, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), 6),
        "f1_macro": round(float(np.mean(per_class)), 6),
        "f1_per_class": {
            name: round(float(value), 6) for name, value in zip(classes, per_class, strict=True)
        },
        "samples": int(len(labels)),
    }


def main() -> None:
    params = load_params()
    model, classes, preprocess = load_checkpoint(CHECKPOINT)
    test_set = load_split(SPLITS_DIR, "test", params["data"], PreprocessConfig(**preprocess))
    labels, predicted = predict_split(model, test_set, int(params["data"].get("workers", 0)))
    metrics = classification_metrics(labels, predicted, classes)
    write_json(METRICS, metrics)
    CONFUSION.parent.mkdir(parents=True, exist_ok=True)
    with open(CONFUSION, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["actual", "predicted"])
        writer.writerows((classes[a], classes[p]) for a, p in zip(labels, predicted, strict=True))
    print(f"evaluate: accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['f1_macro']:.4f}")


if __name__ == "__main__":
    main()
