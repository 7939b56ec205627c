"""Stage `train`: a plain PyTorch training loop, seeded, CPU or GPU automatically.

- CUDA present: trains there, with automatic mixed precision when `train.amp` is true.
- Launched by `torchrun --nproc_per_node N -m <pkg>.train`: DistributedDataParallel, NCCL on
  GPUs and gloo on CPU; rank 0 alone validates and writes outputs.
Writes the best (by validation accuracy) weights to models/model.safetensors and the per-epoch
history to reports/train_history.csv.
"""

import csv
import os
import random
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from .data.dataset import load_split
from .data.label_map import read_label_map
from .data.preprocessing import PreprocessConfig
from .model import build_model
from .model.checkpoint import save_checkpoint
from .params import load_params
from .paths import CHECKPOINT, SPLITS_DIR
from .paths import TRAIN_HISTORY as HISTORY


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
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        total_loss += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
        correct += (logits.argmax(1) == labels).sum().item()
        count += len(labels)
    return total_loss / max(count, 1), correct / max(count, 1)


def train(params: dict, splits_dir: Path, checkpoint: Path = CHECKPOINT, history: Path = HISTORY) -> float:
    """Train and return the best validation accuracy."""
    data, model_params, train_params = params["data"], params["model"], params["train"]
    device, rank, world_size = setup_device()
    seed_everything(int(params["seed"]) + rank)
    classes = read_label_map()
    config = PreprocessConfig.from_params(data)

    train_set = load_split(splits_dir, "train", data)
    val_set = load_split(splits_dir, "val", data)
    sampler = DistributedSampler(train_set, seed=int(params["seed"])) if world_size > 1 else None
    generator = torch.Generator().manual_seed(int(params["seed"]))
    train_loader = DataLoader(
        train_set,
        batch_size=int(train_params["batch_size"]),
        shuffle=sampler is None,
        sampler=sampler,
        generator=generator,
    )
    val_loader = DataLoader(val_set, batch_size=256)

    model = build_model(
        model_params["architecture"], len(classes), config.channels, int(model_params["width"])
    )
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

    best_accuracy, rows = -1.0, []
    for epoch in range(1, epochs + 1):
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        running, seen = 0.0, 0
        for images, labels in train_loader:
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
        if rank != 0:
            continue
        val_loss, val_accuracy = evaluate_loss_accuracy(model, val_loader, device)
        rows.append(
            {
                "epoch": epoch,
                "train_loss": round(running / max(seen, 1), 6),
                "val_loss": round(val_loss, 6),
                "val_accuracy": round(val_accuracy, 6),
            }
        )
        print(f"epoch {epoch:3d}  train_loss {rows[-1]['train_loss']:.4f}  val_acc {val_accuracy:.4f}")
        if val_accuracy > best_accuracy:
            best_accuracy = val_accuracy
            save_checkpoint(model, checkpoint, classes, model_params, config.as_dict())

    if rank == 0:
        history.parent.mkdir(parents=True, exist_ok=True)
        with open(history, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["epoch", "train_loss", "val_loss", "val_accuracy"])
            writer.writeheader()
            writer.writerows(rows)
    if world_size > 1:
        dist.barrier()
        dist.destroy_process_group()
    return best_accuracy


def main() -> None:
    params = load_params()
    best = train(params, SPLITS_DIR)
    if best >= 0:
        print(f"train: best validation accuracy {best:.4f}, weights in {CHECKPOINT}")


if __name__ == "__main__":
    main()
