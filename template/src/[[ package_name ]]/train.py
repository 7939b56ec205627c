"""Stage `train`: a plain PyTorch training loop, seeded, CPU or GPU automatically.

- CUDA present: trains there, with automatic mixed precision when `train.amp` is true.
- Launched by `torchrun --nproc_per_node N -m <pkg>.train`: DistributedDataParallel, NCCL on
  GPUs and gloo on CPU; rank 0 alone validates and writes outputs.
- Data streams from disk: each image is decoded by a DataLoader worker when its batch is due
  (`data.workers` processes; pinned memory on CUDA), augmented on the way (`train.augment`,
  torchvision transforms v2), so memory does not grow with the dataset.
Writes the best (by validation accuracy) weights to models/model.safetensors, and the per-epoch
metrics with DVCLive (reports/train/: metrics.json and plots/metrics/*.tsv for `dvc plots`).
"""

import os
import random
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from dvclive import Live
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm.auto import tqdm

from .data.augment import build_augmentation, describe
from .data.dataset import load_split, make_loader
from .data.label_map import read_label_map
from .model import SCRATCH, WeightsUnavailable, build_model, preprocess_config
from .model.checkpoint import save_checkpoint
from .params import load_params
from .paths import CHECKPOINT, SPLITS_DIR, TRAIN_LIVE_DIR


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup_device() -> tuple[torch.device, int, int]:
    """Return (device, rank, world size); initialises the process group under torchrun."""
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


@torch.no_grad()
def evaluate_loss_accuracy(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[float, float]:
    """(mean cross-entropy, top-1 accuracy) of `model` over `loader`."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for images, labels in tqdm(loader, desc="validate", unit="batch", disable=None, leave=False):
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        total_loss += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
        correct += (logits.argmax(1) == labels).sum().item()
        count += len(labels)
    return total_loss / max(count, 1), correct / max(count, 1)


def initial_weights(model_params: dict) -> str:
    """What training starts from, for the checkpoint and the model card."""
    if model_params.get("weights_path"):
        return f"file {model_params['weights_path']}"
    if model_params.get("pretrained") and model_params["architecture"] not in SCRATCH:  # cnn/resnet: none
        import torchvision

        weights = torchvision.models.get_model_weights(str(model_params["architecture"])).DEFAULT
        return f"imagenet ({type(weights).__name__}.{weights.name})"
    return "random"


def train(
    params: dict, splits_dir: Path, checkpoint: Path = CHECKPOINT, live_dir: Path = TRAIN_LIVE_DIR
) -> float:
    """Train and return the best validation accuracy (-1.0 on ranks other than 0)."""
    data, model_params, train_params = params["data"], params["model"], params["train"]
    device, rank, world_size = setup_device()
    seed_everything(int(params["seed"]) + rank)
    classes = read_label_map()
    config = preprocess_config(data, model_params)
    augmentation = build_augmentation(train_params.get("augment"), config.image_size)

    train_set = load_split(splits_dir, "train", data, config, transform=augmentation)
    val_set = load_split(splits_dir, "val", data, config)
    sampler = DistributedSampler(train_set, seed=int(params["seed"])) if world_size > 1 else None
    generator = torch.Generator().manual_seed(int(params["seed"]))
    workers = int(data.get("workers", 0))
    pin = device.type == "cuda"
    batch_size = int(train_params["batch_size"])
    train_loader = make_loader(
        train_set, batch_size, workers, shuffle=True, sampler=sampler, generator=generator, pin_memory=pin
    )
    val_loader = make_loader(val_set, 256, workers, pin_memory=pin)

    model = build_model(
        str(model_params["architecture"]),
        len(classes),
        config.channels,
        int(model_params["width"]),
        pretrained=bool(model_params.get("pretrained", False)),
        weights_path=model_params.get("weights_path") or None,
    )
    started_from = initial_weights(model_params)
    model.to(device)
    net: nn.Module = DistributedDataParallel(model) if world_size > 1 else model
    epochs = int(train_params["epochs"])
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=float(train_params["lr"]), weight_decay=float(train_params["weight_decay"])
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=float(train_params["lr"]), total_steps=epochs * len(train_loader)
    )
    use_amp = bool(train_params.get("amp", True)) and device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    if rank == 0:
        print(
            f"train: {len(train_set)} images, {len(classes)} classes, {model_params['architecture']} "
            f"from {started_from}, {device}, {workers} loader workers, augmentation: {describe(augmentation)}"
        )

    live = Live(dir=str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None) if rank == 0 else None
    best_accuracy = -1.0
    for epoch in range(1, epochs + 1):
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        running, seen = 0.0, 0
        progress = tqdm(train_loader, desc=f"epoch {epoch}/{epochs}", unit="batch", disable=None, leave=False)
        for images, labels in progress:
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                loss = nn.functional.cross_entropy(net(images), labels)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            running += loss.item() * len(labels)
            seen += len(labels)
            progress.set_postfix(loss=f"{running / seen:.4f}")
        if live is None:
            continue
        train_loss = running / max(seen, 1)
        val_loss, val_accuracy = evaluate_loss_accuracy(model, val_loader, device)
        live.step = epoch  # x axis of the plots = epoch number
        live.log_metric("train/loss", round(train_loss, 6))
        live.log_metric("val/loss", round(val_loss, 6))
        live.log_metric("val/accuracy", round(val_accuracy, 6))
        live.log_metric("lr", scheduler.get_last_lr()[0])
        live.next_step()
        print(
            f"epoch {epoch:3d}  train_loss {train_loss:.4f}  val_loss {val_loss:.4f}"
            f"  val_acc {val_accuracy:.4f}"
        )
        if val_accuracy > best_accuracy:
            best_accuracy = val_accuracy
            save_checkpoint(model, checkpoint, classes, model_params, config.as_dict(), started_from)

    if live is not None:
        live.summary["best_val_accuracy"] = round(best_accuracy, 6)
        live.end()
    if world_size > 1:
        dist.barrier()
        dist.destroy_process_group()
    return best_accuracy


def main() -> None:
    params = load_params()
    try:
        best = train(params, SPLITS_DIR)
    except (WeightsUnavailable, ValueError) as error:
        raise SystemExit(f"train: {error}") from error
    if best >= 0:
        print(f"train: best validation accuracy {best:.4f}, weights in {CHECKPOINT}")


if __name__ == "__main__":
    main()
