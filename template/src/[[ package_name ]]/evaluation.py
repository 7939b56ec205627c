"""The evaluation report of one model on the test split: what the web UI's Evaluation page shows.

`reports/evaluation/<model>/report.json` holds per-class precision / recall / F1, the confusion
matrix, the training curves and the misclassified test images (true label, predicted label,
confidence), whose PNG copies sit beside it in `misclassified/`. The evaluate stage writes the
trained model's (`teacher`); the server reads them (serving/api/evaluation.py) and never needs
torch or the dataset.
"""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from .data.images import decode_image
from .paths import EVALUATION_DIR
from .scores import softmax

THUMBNAIL_SIDE = 256  # misclassified images are stored at most this many pixels wide/high


def read_history(path: Path) -> dict[str, list[float | None]]:
    """Training curves, {column: per-epoch values} with `epoch` 1-based, from the DVCLive directory
    `path` of a stage that trains (reports/train, reports/distill, reports/prune):
    `plots/metrics/**/<name>.tsv` files of `step<TAB><name>` rows (https://dvc.org/doc/dvclive),
    named by their path: plots/metrics/val/accuracy.tsv -> val_accuracy. The step is the epoch
    (training.live_logger sets it, 1-based, so that `dvc plots` and this page share one x axis); an
    epoch a metric was not logged at is None.

    Returns {} when `path` holds no curves (a model that was not trained here).
    """
    curves, steps = {}, set()
    for tsv in sorted((path / "plots" / "metrics").rglob("*.tsv")):
        with tsv.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter="\t"))[1:]
        name = "_".join(tsv.relative_to(path / "plots" / "metrics").with_suffix("").parts)
        curves[name] = {int(row[0]): float(row[1]) for row in rows}
        steps |= set(curves[name])
    order = sorted(steps)
    history = {name: [values.get(step) for step in order] for name, values in curves.items()}
    return {"epoch": [float(step) for step in order], **history} if order else {}


def write_evaluation_report(
    name: str,
    logits: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    image_paths: list[str],
    history: dict[str, list[float]],
    max_images: int,
    extra: dict | None = None,
    root: Path = EVALUATION_DIR,
) -> dict:
    """Write `root/<name>/report.json` and copies of up to `max_images` misclassified images.

    `logits` float (N, K) for the N test images in `image_paths` (files readable from the working
    directory), `labels` int (N,) indices into `classes` (K names). The most confident mistakes
    come first. `extra` (e.g. parameter count, source model) is stored under `model`. Returns the
    report. Raises BadImage when a listed image no longer decodes.
    """
    out = root / name
    if out.exists():
        shutil.rmtree(out)
    (out / "misclassified").mkdir(parents=True)
    probabilities = softmax(logits)
    predicted = probabilities.argmax(1)
    confidence = probabilities.max(1)
    indices = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=indices, zero_division=0
    )
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:max_images]
    gallery = []
    for rank, index in enumerate(wrong):
        image = decode_image(Path(image_paths[index]))  # "L" or "RGB", upright
        image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
        file = f"misclassified/{rank:03d}.png"
        image.save(out / file, format="PNG")
        gallery.append(
            {
                "image": file,
                "true": classes[labels[index]],
                "predicted": classes[predicted[index]],
                "confidence": round(float(confidence[index]), 4),
                "source": Path(image_paths[index]).as_posix(),
            }
        )
    report = {
        "name": name,
        "model": extra or {},
        "classes": classes,
        "samples": int(len(labels)),
        "accuracy": round(float((predicted == labels).mean()) if len(labels) else 0.0, 6),
        "per_class": [
            {
                "class": classes[i],
                "precision": round(float(precision[i]), 6),
                "recall": round(float(recall[i]), 6),
                "f1": round(float(f1[i]), 6),
                "support": int(support[i]),
            }
            for i in indices
        ],
        "confusion": confusion_matrix(labels, predicted, labels=indices).tolist(),
        "history": history,
        "misclassified": gallery,
        "misclassified_total": int((predicted != labels).sum()),
    }
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report
