"""Stage `evaluate`: test-split accuracy, per-class F1 and a confusion matrix for `dvc plots`, and
the trained model's evaluation report for the web UI (evaluation.py, `reports/evaluation/teacher`)."""

import csv

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score

from ..data.dataset import load_split, loader_workers
from ..data.preprocessing import PreprocessConfig
from ..evaluation import read_history, write_evaluation_report
from ..model.checkpoint import load_checkpoint
from ..params import load_params, write_json
from ..paths import CHECKPOINT, CONFUSION, SPLITS_DIR, TRAIN_LIVE_DIR
from ..paths import EVALUATE_METRICS as METRICS
from ..training import parameter_count, predict_logits


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
    labels = test_set.labels
    workers = loader_workers(params["data"].get("workers"), torch.device("cpu"))  # the model is on CPU
    logits = predict_logits(model, test_set, workers, "evaluate")
    predicted = logits.argmax(1)
    metrics = classification_metrics(labels, predicted, classes)
    write_json(METRICS, metrics)
    CONFUSION.parent.mkdir(parents=True, exist_ok=True)
    with open(CONFUSION, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["actual", "predicted"])
        writer.writerows((classes[a], classes[p]) for a, p in zip(labels, predicted, strict=True))
    write_evaluation_report(
        "teacher",
        logits,
        labels,
        classes,
        test_set.paths,
        read_history(TRAIN_LIVE_DIR),
        int(params["evaluate"]["max_misclassified_images"]),
        {"architecture": type(model).__name__, "parameters": parameter_count(model)},
    )
    print(f"evaluate: accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['f1_macro']:.4f}")


if __name__ == "__main__":
    main()
