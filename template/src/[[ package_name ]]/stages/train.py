"""Stage `train`: the model from params.yaml trained by the one fit loop (training.py), seeded,
CPU or GPU automatically.

- CUDA present: trains there, with automatic mixed precision when `train.amp` is true.
- Launched by `torchrun --nproc_per_node N -m <pkg>.stages.train`: DistributedDataParallel, NCCL on
  GPUs and gloo on CPU; rank 0 alone validates and writes outputs.
- Data streams from disk: each image is decoded by a DataLoader worker when its batch is due
  (`data.workers` processes; pinned memory on CUDA), augmented on the way (`train.augment`,
  torchvision transforms v2), so memory does not grow with the dataset.
Writes the best (by validation accuracy) weights to models/model.safetensors, and the per-epoch
metrics with DVCLive (reports/train/: metrics.json and plots/metrics/*.tsv for `dvc plots`).
"""

from pathlib import Path

import torch
import torch.distributed as dist
from dvclive import Live
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from ..data.augment import build_augmentation, describe
from ..data.dataset import load_split, loader_workers, make_loader
from ..data.label_map import read_label_map
from ..model import BACKBONES, WeightsUnavailable, build_model, preprocess_config
from ..model.checkpoint import save_checkpoint
from ..params import load_params
from ..paths import CHECKPOINT, SPLITS_DIR, TRAIN_LIVE_DIR
from ..training import fit, live_logger, seed_everything, setup_device


def initial_weights(model_params: dict) -> str:
    """What training starts from, for the checkpoint and the model card."""
    if str(model_params["architecture"]) not in BACKBONES:
        return "random"
    if model_params.get("weights_path"):
        return f"file {model_params['weights_path']}"
    if model_params.get("pretrained"):
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
    workers = loader_workers(data.get("workers"), device, world_size)
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
    if rank == 0:
        print(
            f"train: {len(train_set)} images, {len(classes)} classes, {model_params['architecture']} "
            f"from {started_from}, {device}, {workers} loader workers, augmentation: {describe(augmentation)}"
        )

    live = Live(dir=str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None) if rank == 0 else None

    result = fit(
        model,
        train_loader,
        val_loader if rank == 0 else None,  # rank 0 alone validates and writes
        epochs=epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        device=device,
        net=net,
        amp=bool(train_params.get("amp", True)),
        on_epoch=live_logger(live, scheduler=scheduler) if live is not None else None,
    )
    if result.best_state is not None:
        model.load_state_dict(result.best_state)
        save_checkpoint(model, checkpoint, classes, model_params, config.as_dict(), started_from)
    best_accuracy = result.best_accuracy
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
