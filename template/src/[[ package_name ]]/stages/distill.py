"""Stage `distill`: knowledge distillation of the trained model (teacher) into a smaller student.

Hinton, Vinyals, Dean (2015), "Distilling the Knowledge in a Neural Network": the student learns
from the teacher's softened outputs, softmax(logits / T), mixed with the true labels. The student's
architecture and width, T and the mix are `distill.*` in params.yaml; it trains on the same train
split, keeps the weights of the epoch with the best validation accuracy (metrics/distill.json
`kept`: "epoch <n>", with its `val_accuracy_kept`), and is evaluated on the test split like
the teacher (reports/evaluation/student). Its per-epoch loss and accuracy are logged with DVCLive in
reports/distill/ (metrics.json, plots/metrics/*.tsv), beside the teacher's reports/train/, for
`dvc exp show` and `dvc plots`. `serve.model: student` ships it through export -> quantize ->
build_engine -> benchmark -> release.
"""

import torch
from dvclive import Live
from torch.nn import functional as F
from torch.utils.data import DataLoader

from ..data.dataset import load_split
from ..data.preprocessing import PreprocessConfig
from ..evaluation import read_history, write_evaluation_report
from ..model import build_model
from ..model.checkpoint import load_checkpoint, save_checkpoint
from ..params import load_params, write_json
from ..paths import CHECKPOINT, DISTILL_LIVE_DIR, DISTILL_METRICS, SPLITS_DIR, STUDENT_CHECKPOINT
from ..training import fit, live_logger, parameter_count, predict_logits, seed_everything


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """alpha * T² * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy(student, labels).

    Logits are float (N, K), labels int64 (N,). The T² factor keeps the soft term's gradients the
    same size whatever T is (Hinton et al. 2015, section 2). Returns a scalar tensor.
    """
    soft = F.kl_div(
        F.log_softmax(student_logits / temperature, dim=1),
        F.softmax(teacher_logits / temperature, dim=1),
        reduction="batchmean",
    )
    hard = F.cross_entropy(student_logits, labels)
    return alpha * temperature**2 * soft + (1 - alpha) * hard


def distill(params: dict) -> dict:
    """Train the student from the teacher at CHECKPOINT; write its checkpoint, curves (DVCLive, in
    DISTILL_LIVE_DIR) and report.

    Returns the metrics written to metrics/distill.json (accuracies on the test split, parameter
    counts and their ratio).
    """
    settings = params["distill"]
    seed_everything(int(params["seed"]))
    teacher, classes, preprocess = load_checkpoint(CHECKPOINT)
    config = PreprocessConfig(**preprocess)  # the teacher's: both models see the same input
    train_set = load_split(SPLITS_DIR, "train", params["data"], config)
    val_set = load_split(SPLITS_DIR, "val", params["data"], config)
    loader = DataLoader(
        train_set,
        batch_size=int(settings["batch_size"]),
        shuffle=True,
        generator=torch.Generator().manual_seed(int(params["seed"])),
    )
    student_params = {"architecture": settings["architecture"], "width": int(settings["width"])}
    student = build_model(
        student_params["architecture"], len(classes), len(preprocess["mode"]), student_params["width"]
    )
    epochs, lr = int(settings["epochs"]), float(settings["lr"])
    optimizer = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=float(settings["weight_decay"]))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * len(loader))
    temperature, alpha = float(settings["temperature"]), float(settings["alpha"])
    origin = {
        "kind": "distilled",
        "teacher": CHECKPOINT.as_posix(),
        "temperature": temperature,
        "alpha": alpha,
    }
    teacher.eval()

    def loss_fn(student_logits: torch.Tensor, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            soft_targets = teacher(images)  # per batch: right with augmented images too
        return distillation_loss(student_logits, soft_targets, labels, temperature, alpha)

    live = Live(dir=str(DISTILL_LIVE_DIR), dvcyaml=None, save_dvc_exp=False, report=None)
    result = fit(
        student,
        loader,
        DataLoader(val_set, batch_size=256),
        epochs=epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        loss_fn=loss_fn,
        on_epoch=live_logger(live, "distill: ", scheduler),
        desc="distill epoch",
    )
    live.summary["best_val_accuracy"] = round(result.best_accuracy, 6)
    live.end()
    student.load_state_dict(result.best_state)  # the best epoch by validation accuracy
    save_checkpoint(student, STUDENT_CHECKPOINT, classes, student_params, preprocess, origin=origin)

    student, _, _ = load_checkpoint(STUDENT_CHECKPOINT)  # the best epoch's weights
    test_set = load_split(SPLITS_DIR, "test", params["data"], config)
    labels = test_set.labels
    accuracy = {}
    for name, model in (("teacher", teacher), ("student", student)):
        logits = predict_logits(model, test_set, desc=f"{name} on test")
        accuracy[name] = round(float((logits.argmax(1) == labels).mean()), 6)
    sizes = {"teacher": parameter_count(teacher), "student": parameter_count(student)}
    write_evaluation_report(
        "student",
        logits,
        labels,
        classes,
        test_set.paths,
        read_history(DISTILL_LIVE_DIR),
        int(params["evaluate"]["max_misclassified_images"]),
        {
            "architecture": type(student).__name__,
            "parameters": sizes["student"],
            "source": "distilled from teacher",
        },
    )
    metrics = {
        "teacher_accuracy": accuracy["teacher"],
        "student_accuracy": accuracy["student"],
        "teacher_parameters": sizes["teacher"],
        "student_parameters": sizes["student"],
        "student_vs_teacher_parameters": round(sizes["student"] / sizes["teacher"], 4),
        "student_vs_teacher_accuracy": round(accuracy["student"] / max(accuracy["teacher"], 1e-9), 4),
        "kept": f"epoch {result.best_epoch}",  # the candidate with the best validation accuracy
        "val_accuracy_kept": round(result.best_accuracy, 6),
    }
    write_json(DISTILL_METRICS, metrics)
    return metrics


def main() -> None:
    metrics = distill(load_params())
    print(
        f"distill: student accuracy {metrics['student_accuracy']:.4f} "
        f"vs teacher {metrics['teacher_accuracy']:.4f} "
        f"with {metrics['student_vs_teacher_parameters']:.1%} of its parameters"
    )


if __name__ == "__main__":
    main()
