"""The training data path: a streaming Dataset over a split CSV, and the loaders every stage uses.

Each item is decoded when it is asked for (data/images.py, then the optional augmentation, then
preprocessing.preprocess), so memory does not grow with the number of images: only a batch and the
DataLoader's prefetch queue are in memory at a time. Stages that need arrays (export's parity check,
quantize's calibration set) decode just the items they name with `stack`.
"""

import csv
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from .images import DEFAULT_MAX_PIXELS, decode_image
from .label_map import read_label_map
from .preprocessing import PreprocessConfig, preprocess

Transform = Callable[[Image.Image], Image.Image]


class ImageCsvDataset(Dataset):
    """Images listed in `<split>.csv` (path,label), decoded per item.

    `dataset[i]` is (float32 tensor (C, H, W) as `preprocess` returns, int label index into
    `classes`); `labels` holds them all, int64 numpy (N,). `transform` (PIL -> PIL, e.g.
    data/augment.py's torchvision v2 pipeline) runs between decoding and preprocessing. Raises
    KeyError at construction for a label outside `classes`, and BadImage when an item no longer
    decodes (validation lists and excludes the bad ones first).
    """

    def __init__(
        self,
        csv_path: Path | str,
        classes: Sequence[str],
        config: PreprocessConfig,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        transform: Transform | None = None,
    ):
        with open(csv_path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        index = {name: i for i, name in enumerate(classes)}
        self.paths = [row["path"] for row in rows]
        # numpy, not a tensor: a tensor sent to a spawned DataLoader worker moves into shared memory,
        # which leaves any numpy view a caller took of it pointing at freed memory
        self.labels = np.array([index[row["label"]] for row in rows], dtype=np.int64)
        self.config = config
        self.max_pixels = max_pixels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, int]:
        image = decode_image(Path(self.paths[item]), self.max_pixels)
        if self.transform is not None:
            image = self.transform(image)
        return torch.from_numpy(preprocess(image, self.config)), int(self.labels[item])


def load_split(
    splits_dir: Path | str,
    name: str,
    data_params: dict,
    config: PreprocessConfig,
    transform: Transform | None = None,
) -> ImageCsvDataset:
    """One split (train/val/test) with the label map's classes and the model's preprocessing.

    `config` is the model's own (the checkpoint's or the ONNX manifest's), so a stage never
    preprocesses differently from how the model was trained.
    """
    return ImageCsvDataset(
        Path(splits_dir) / f"{name}.csv",
        read_label_map(),
        config,
        int(data_params.get("max_image_pixels", DEFAULT_MAX_PIXELS)),
        transform,
    )


# forkserver where the platform has it (Linux, macOS); spawn elsewhere (Windows)
WORKER_START = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def loader_workers(setting: int | str | None, device: torch.device, world_size: int = 1) -> int:
    """The number of DataLoader worker processes for params `data.workers`, per training process.

    An integer is used as given (0: decode in this process). `auto` (the default) shares the CPUs
    among the `world_size` processes of a distributed run: on CUDA, min(4, their share); on CPU,
    what of their share the model's own threads (torch.get_num_threads()) leave free, at most 4,
    because workers and the model then run on the same cores and oversubscribed cores slow both
    (PyTorch's CPU performance tuning guide). Measured on 2 cores: 2 workers made the sample's
    4-epoch training 3.7x slower (33.7 s against 9.0 s) and its evaluation 9.3 s against 0.3 s.
    Raises ValueError for anything else.
    """
    if setting is None or setting == "auto":
        share = max(1, (os.cpu_count() or 1) // max(1, world_size))
        free = share if device.type == "cuda" else share - torch.get_num_threads()
        return max(0, min(4, free))
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 0:
        raise ValueError(f"data.workers must be 'auto' or a whole number >= 0, not {setting!r}")
    return setting


def make_loader(
    dataset: Dataset,
    batch_size: int,
    workers: int = 0,
    *,
    shuffle: bool = False,
    sampler=None,
    generator: torch.Generator | None = None,
    pin_memory: bool = False,
    collate_fn: Callable | None = None,
) -> DataLoader:
    """A DataLoader with `workers` decoding processes (0: decode in this process); `collate_fn`
    as DataLoader's (None: stack into tensors; detection passes lists of images and targets).

    Workers persist across epochs (no re-fork per epoch) and prefetch 2 batches each; pin_memory
    only helps copies to a CUDA device (PyTorch docs, "Memory pinning"). They start from a fork
    server, not by forking this process: a process that has run an OpenVINO engine (the quantize
    stage's golden sets, the tests' in-process pipeline) has thread pools a forked child inherits
    broken, and such children crash (SIGSEGV); PyTorch's DataLoader docs recommend spawn or
    forkserver when the parent uses threads ("Platform-specific behaviors").
    """
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        generator=generator,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=pin_memory,
        multiprocessing_context=WORKER_START if workers > 0 else None,
        collate_fn=collate_fn,
    )


def batches(
    dataset: ImageCsvDataset, batch_size: int = 256, workers: int = 0, desc: str | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The dataset in order, as (float32 (B, C, H, W), int64 (B,)) numpy batches, with a progress bar."""
    loader = make_loader(dataset, batch_size, workers)
    for images, labels in tqdm(loader, desc=desc, unit="batch", disable=None, leave=False):
        yield images.numpy(), labels.numpy()


def stack(
    dataset: ImageCsvDataset, indices: Sequence[int] | np.ndarray | None = None, desc: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Decode the items at `indices` (all when None) into (float32 (N, C, H, W), int64 (N,)) arrays.

    For small, named subsets (calibration samples, golden inputs, parity images); loops over a
    whole large split belong in `batches`.
    """
    chosen = range(len(dataset)) if indices is None else [int(i) for i in indices]
    images, labels = [], []
    for item in tqdm(chosen, desc=desc, unit="img", disable=None, leave=False):
        image, label = dataset[item]
        images.append(image.numpy())
        labels.append(int(label))
    if not images:
        raise ValueError("no images to stack: the split is empty")
    return np.stack(images), np.asarray(labels, dtype=np.int64)
