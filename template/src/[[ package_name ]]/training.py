"""The one fit loop, shared by the train, distill and prune stages, and what it needs around it:
seeding, the device (CPU, CUDA, torchrun), validation and predictions.

The loop is plain PyTorch on purpose (nanoGPT's style): one epoch is a pass over the train loader
with the stage's loss, then a validation pass; the weights with the best validation accuracy are
kept. What differs between stages is passed in: the loss (cross-entropy for train and prune's
fine-tune, the distillation loss for distill), the optimiser and schedule, and a callback that
logs each epoch (`live_logger`: DVCLive, one directory per stage, so `dvc exp show` and `dvc plots`
see the teacher, the student and the pruned model side by side).
"""

import copy
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm.auto import tqdm

from .data.dataset import batches

# (logits of the model being trained, the batch's images, its labels) -> scalar loss
LossFunction = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
# (the network to run, one batch as the train loader gives it, device) -> (scalar loss, batch size):
# how one batch becomes a loss, for models whose forward pass is not logits (a torchvision detector
# in train mode takes images and targets and returns its losses)
StepFunction = Callable[[nn.Module, object, torch.device], tuple[torch.Tensor, int]]
# (model, validation loader, device) -> (validation loss, validation score: higher is better)
ValidateFunction = Callable[[nn.Module, DataLoader, torch.device], tuple[float, float]]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's generators (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup_device() -> tuple[torch.device, int, int]:
    """Return (device, rank, world size); initialises the process group under torchrun
    (NCCL on GPUs, gloo on CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world_size > 1:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device, rank, world_size


def cross_entropy(logits: torch.Tensor, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The default loss: mean cross-entropy of float (N, K) logits against int64 (N,) labels."""
    return nn.functional.cross_entropy(logits, labels)


@torch.no_grad()
def evaluate_loss_accuracy(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[float, float]:
    """(mean cross-entropy, top-1 accuracy in 0..1) of `model` (put in eval mode) over `loader`."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for images, labels in tqdm(loader, desc="validate", unit="batch", disable=None, leave=False):
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        total_loss += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
        correct += (logits.argmax(1) == labels).sum().item()
        count += len(labels)
    return total_loss / max(count, 1), correct / max(count, 1)


@torch.no_grad()
def predict_logits(
    model: nn.Module, dataset: Dataset, workers: int = 0, desc: str | None = None
) -> np.ndarray:
    """float32 (N, K) logits of `model` (put in eval mode) for every item of `dataset`, in order,
    streaming the split batch by batch (`workers` decoding processes, data/dataset.py)."""
    model.eval()
    outputs = [model(torch.from_numpy(images)).numpy() for images, _ in batches(dataset, 256, workers, desc)]
    return np.concatenate(outputs) if outputs else np.empty((0, 0), dtype=np.float32)


def parameter_count(model: nn.Module) -> int:
    """Number of parameters (weights and biases) of `model`."""
    return int(sum(parameter.numel() for parameter in model.parameters()))


@dataclass
class EpochResult:
    """One epoch's figures: mean train loss, validation loss and top-1 accuracy (0..1)."""

    epoch: int  # 1-based
    train_loss: float
    val_loss: float
    val_accuracy: float


@dataclass
class FitResult:
    """What `fit` leaves: the best epoch's accuracy and weights (None without validation, i.e. on
    ranks other than 0), which epoch that was (0: the weights before training, with
    `validate_first`), the validation accuracy before training (None without `validate_first`)
    and every epoch's figures."""

    best_accuracy: float = -1.0
    best_state: dict | None = None
    history: list[EpochResult] = field(default_factory=list)
    best_epoch: int | None = None
    initial_accuracy: float | None = None


def live_logger(
    live, prefix: str = "", scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
) -> Callable[[EpochResult], None]:
    """An `on_epoch` callback for `fit` that logs each epoch to `live` (a dvclive.Live) and prints it.

    Logged per epoch: train/loss and val/loss (mean cross-entropy, or the stage's loss for train),
    val/accuracy (0..1) and, with a `scheduler`, lr (its last learning rate). The step is the
    1-based epoch, the x axis of `dvc plots` and of the web UI's curves (evaluation.read_history).
    `prefix` starts the printed line (e.g. "distill: ").
    """

    def log_epoch(row: EpochResult) -> None:
        live.step = row.epoch
        live.log_metric("train/loss", round(row.train_loss, 6))
        live.log_metric("val/loss", round(row.val_loss, 6))
        live.log_metric("val/accuracy", round(row.val_accuracy, 6))
        if scheduler is not None:
            live.log_metric("lr", scheduler.get_last_lr()[0])
        live.next_step()
        print(
            f"{prefix}epoch {row.epoch:3d}  train_loss {row.train_loss:.4f}  val_loss {row.val_loss:.4f}"
            f"  val_acc {row.val_accuracy:.4f}"
        )

    return log_epoch


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    loss_fn: LossFunction = cross_entropy,
    device: torch.device | None = None,
    net: nn.Module | None = None,
    amp: bool = False,
    on_epoch: Callable[[EpochResult], None] | None = None,
    desc: str = "epoch",
    validate_first: bool = False,
    step: StepFunction | None = None,
    validate: ValidateFunction | None = None,
) -> FitResult:
    """Train `model` for `epochs` passes over `train_loader` and keep its best weights.

    `net` is what the forward pass runs (the DistributedDataParallel wrapper under torchrun;
    `model` itself by default); validation always runs the bare `model`. Batches from the loaders
    are (float32 (N, C, H, W) images, int64 (N,) labels), moved to `device` (the model's; CPU by
    default). `scheduler` steps once per batch (OneCycleLR's convention). `amp` enables float16
    autocast with gradient scaling, on CUDA only. With `val_loader` None (ranks other than 0) no
    validation runs and nothing is kept; otherwise after each epoch the validation loss and
    accuracy are measured, `on_epoch` is called with them, and a copy of the weights is kept when
    the accuracy beats every earlier epoch's. With `validate_first` the weights before the first
    epoch are the first candidate (epoch 0; prune's pruned model before its fine-tune): training
    that only makes validation worse keeps them. The model is left with its last epoch's weights:
    load `best_state` to use the best ones.

    `step` and `validate` replace the classification batch and measure for other tasks (detection:
    lists of images and targets, the detector's summed losses, mAP@0.5 as the score kept as
    `val_accuracy`); by default a batch is (images, labels) scored with `loss_fn` on `net(images)`,
    and validation is `evaluate_loss_accuracy`.
    """
    device = device or next(model.parameters()).device
    validate = validate or evaluate_loss_accuracy

    def classification_step(net: nn.Module, batch, device: torch.device) -> tuple[torch.Tensor, int]:
        images, labels = batch
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        return loss_fn(net(images), images, labels), len(labels)

    step = step or classification_step
    net = net or model
    use_amp = amp and device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    sampler = getattr(train_loader, "sampler", None)
    result = FitResult()
    if validate_first and val_loader is not None:
        _, result.initial_accuracy = validate(model, val_loader, device)
        result.best_accuracy, result.best_epoch = result.initial_accuracy, 0
        result.best_state = copy.deepcopy(model.state_dict())
    for epoch in range(1, epochs + 1):
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)
        net.train()
        running, seen = 0.0, 0
        progress = tqdm(
            train_loader, desc=f"{desc} {epoch}/{epochs}", unit="batch", disable=None, leave=False
        )
        for batch in progress:
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                loss, size = step(net, batch, device)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            running += loss.item() * size
            seen += size
            progress.set_postfix(loss=f"{running / seen:.4f}")
        if val_loader is None:
            continue
        val_loss, val_accuracy = validate(model, val_loader, device)
        row = EpochResult(epoch, running / max(seen, 1), val_loss, val_accuracy)
        result.history.append(row)
        if on_epoch is not None:
            on_epoch(row)
        if val_accuracy > result.best_accuracy:
            result.best_accuracy, result.best_epoch = val_accuracy, epoch
            result.best_state = copy.deepcopy(model.state_dict())
    return result
