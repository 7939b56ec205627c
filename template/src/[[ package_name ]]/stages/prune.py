"""Stage `prune`: structured channel pruning of the trained model with Torch-Pruning, then a short
fine-tune.

Torch-Pruning (Fang et al. 2023, "DepGraph: Towards Any Structural Pruning", CVPR;
https://github.com/VainF/Torch-Pruning) traces the layers that depend on each other (a conv, its
batch norm, the next conv's inputs, residual additions) and removes the same channels from all of
them, so the pruned model is really smaller and faster: its tensors have fewer channels, unlike
masks that keep the dense size. The least important channels (L2 norm of their weights) go, to
`prune.ratio` of each layer's channels; the classifier's outputs are kept. The model kept is the
best of the candidates by validation accuracy: the pruned model before fine-tuning and each
fine-tune epoch (metrics/prune.json `kept`: "before_fine_tune" or "epoch <n>"), so a fine-tune that
makes the model worse does not ship. The stage reports
parameters, MACs, checkpoint size and batch-1 latency before and after (metrics/prune.json); the
fine-tune's per-epoch loss and accuracy are logged with DVCLive in reports/prune/ (metrics.json,
plots/metrics/*.tsv), beside the teacher's reports/train/, for `dvc exp show` and `dvc plots`.
"""

import copy

import torch
import torch_pruning as tp
from dvclive import Live
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..data.dataset import load_split, stack
from ..data.preprocessing import PreprocessConfig
from ..evaluation import read_history, write_evaluation_report
from ..latency import latency_summary, time_calls
from ..model.checkpoint import checkpoint_info, load_checkpoint, save_checkpoint
from ..params import load_params, write_json
from ..paths import CHECKPOINT, PRUNE_LIVE_DIR, PRUNE_METRICS, PRUNED_CHECKPOINT, SPLITS_DIR
from ..training import fit, live_logger, predict_logits, seed_everything


def classifier_layer(model: nn.Module) -> nn.Module:
    """The last Linear layer: its outputs are the classes and must not be pruned."""
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no Linear classifier to keep")
    return linears[-1]


def prune_channels(model: nn.Module, example: torch.Tensor, ratio: float) -> nn.Module:
    """Remove `ratio` (0..1) of the channels of every prunable layer of `model`, in place.

    `example` is one float32 (N, C, H, W) input for tracing. Channels are ranked by the L2 norm of
    their weights (Torch-Pruning's MagnitudeImportance, p=2), the same ratio for every layer.
    Each group of coupled layers is one pruning step (a progress bar on a terminal).
    Raises ValueError for a ratio outside [0, 1).
    """
    if not 0 <= ratio < 1:
        raise ValueError(f"prune.ratio must be in [0, 1), got {ratio}")
    pruner = tp.pruner.BasePruner(
        model,
        example,
        importance=tp.importance.MagnitudeImportance(p=2),
        pruning_ratio=ratio,
        ignored_layers=[classifier_layer(model)],
    )
    groups = pruner.step(interactive=True)  # one group of coupled layers at a time
    for group in tqdm(groups, desc="prune groups", unit="group", disable=None, leave=False):
        group.prune()
    return model


def latency_ms(model: nn.Module, example: torch.Tensor, runs: int, warmup: int) -> dict:
    """Batch-1 PyTorch CPU latency of `model`: p50 and p99 in milliseconds over `runs` calls."""
    with torch.inference_mode():
        return latency_summary(time_calls(model, example[:1], runs, warmup, desc="latency"))


def profile(model: nn.Module, example: torch.Tensor, runs: int, warmup: int) -> dict:
    """Parameters, MACs (one image; Torch-Pruning's op counter) and batch-1 latency of `model`."""
    model.eval()
    macs, parameters = tp.utils.count_ops_and_params(model, example[:1])
    return {"parameters": int(parameters), "macs": int(macs), **latency_ms(model, example, runs, warmup)}


def fine_tune(model: nn.Module, params: dict, train_set, val_set) -> dict:
    """`prune.epochs` epochs of cross-entropy on the train split; loads the best candidate by
    validation accuracy into `model`: the weights before fine-tuning or one epoch's.

    Each epoch's train/val loss and val accuracy go to DVCLive in PRUNE_LIVE_DIR. Returns which
    candidate was kept ({"kept": "before_fine_tune" | "epoch <n>", "val_accuracy_kept",
    "val_accuracy_before_fine_tune"}).
    """
    settings = params["prune"]
    loader = DataLoader(
        train_set,
        batch_size=int(params["train"]["batch_size"]),
        shuffle=True,
        generator=torch.Generator().manual_seed(int(params["seed"])),
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(settings["lr"]))

    live = Live(dir=str(PRUNE_LIVE_DIR), dvcyaml=None, save_dvc_exp=False, report=None)
    result = fit(
        model,
        loader,
        DataLoader(val_set, batch_size=256),
        epochs=int(settings["epochs"]),
        optimizer=optimizer,
        on_epoch=live_logger(live, "prune: fine-tune "),
        desc="fine-tune epoch",
        validate_first=True,
    )
    live.summary["best_val_accuracy"] = round(result.best_accuracy, 6)
    live.end()
    model.load_state_dict(result.best_state)
    return {
        "kept": "before_fine_tune" if result.best_epoch == 0 else f"epoch {result.best_epoch}",
        "val_accuracy_kept": round(result.best_accuracy, 6),
        "val_accuracy_before_fine_tune": round(result.initial_accuracy, 6),
    }


def main() -> None:
    params = load_params()
    settings = params["prune"]
    seed_everything(int(params["seed"]))
    torch.set_num_threads(int(params["benchmark"]["threads"]))
    runs, warmup = int(settings["latency_runs"]), 10
    teacher, classes, preprocess = load_checkpoint(CHECKPOINT)
    config = PreprocessConfig(**preprocess)
    train_set = load_split(SPLITS_DIR, "train", params["data"], config)
    val_set = load_split(SPLITS_DIR, "val", params["data"], config)
    test_set = load_split(SPLITS_DIR, "test", params["data"], config)
    labels, example = test_set.labels, torch.from_numpy(stack(test_set, range(8))[0])

    before = profile(teacher, example, runs, warmup) | {"size_bytes": CHECKPOINT.stat().st_size}
    model = prune_channels(copy.deepcopy(teacher), example, float(settings["ratio"]))
    pruned_logits = predict_logits(model, test_set, desc="pruned on test")
    pruned_accuracy = float((pruned_logits.argmax(1) == labels).mean())
    kept = fine_tune(model, params, train_set, val_set)
    model.eval()
    teacher_meta = {"architecture": type(teacher).__name__}
    origin = {"kind": "pruned", "teacher": CHECKPOINT.as_posix(), "ratio": float(settings["ratio"])}
    save_checkpoint(model, PRUNED_CHECKPOINT, classes, checkpoint_info(CHECKPOINT), preprocess, origin=origin)
    after = profile(model, example, runs, warmup) | {"size_bytes": PRUNED_CHECKPOINT.stat().st_size}

    reloaded, _, _ = load_checkpoint(PRUNED_CHECKPOINT)  # exactly what export will read
    logits = predict_logits(reloaded, test_set, desc="fine-tuned on test")
    teacher_logits = predict_logits(teacher, test_set, desc="teacher on test")
    teacher_accuracy = float((teacher_logits.argmax(1) == labels).mean())
    accuracy = float((logits.argmax(1) == labels).mean())
    write_evaluation_report(
        "pruned",
        logits,
        labels,
        classes,
        test_set.paths,
        read_history(PRUNE_LIVE_DIR),
        int(params["evaluate"]["max_misclassified_images"]),
        teacher_meta
        | {
            "parameters": after["parameters"],
            "source": f"teacher with {settings['ratio']:.0%} of channels pruned",
        },
    )
    metrics = {
        "ratio": float(settings["ratio"]),
        **kept,
        "before": before | {"accuracy": round(teacher_accuracy, 6)},
        "after": after
        | {"accuracy": round(accuracy, 6), "accuracy_before_fine_tune": round(pruned_accuracy, 6)},
        "after_vs_before": {
            key: round(after[key] / before[key], 4)
            for key in ("parameters", "macs", "size_bytes", "latency_p50_ms", "latency_p99_ms")
        },
    }
    write_json(PRUNE_METRICS, metrics)
    print(f"{'':<14}{'params':>10}{'MACs':>12}{'size KB':>10}{'p50 ms':>9}{'p99 ms':>9}{'accuracy':>10}")
    for name, row in (("before", metrics["before"]), ("after", metrics["after"])):
        print(
            f"{name:<14}{row['parameters']:>10}{row['macs']:>12}{row['size_bytes'] / 1024:>10.1f}"
            f"{row['latency_p50_ms']:>9.3f}{row['latency_p99_ms']:>9.3f}{row['accuracy']:>10.4f}"
        )
    print(
        f"prune: test accuracy {pruned_accuracy:.4f} right after pruning, {accuracy:.4f} kept "
        f"({kept['kept']}: validation {kept['val_accuracy_kept']:.4f}, "
        f"{kept['val_accuracy_before_fine_tune']:.4f} before fine-tuning)"
    )


if __name__ == "__main__":
    main()
