"""PyTorch Dataset over a split CSV, decoded by data/images.py and transformed by preprocessing."""

import csv
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .images import DEFAULT_MAX_PIXELS, decode_image
from .label_map import read_label_map
from .preprocessing import PreprocessConfig, preprocess


class ImageCsvDataset(Dataset):
    """Images listed in `<split>.csv` (path,label); decoded once up front.

    `images` is float32 (N, C, H, W) as `preprocess` returns; `labels` int64 (N,), indices into
    `classes`. Raises BadImage for a file that no longer decodes (validation listed the bad ones)
    and KeyError for a label outside `classes`.
    """

    def __init__(
        self,
        csv_path: Path | str,
        classes: list[str],
        config: PreprocessConfig,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ):
        with open(csv_path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        index = {name: i for i, name in enumerate(classes)}
        images = [preprocess(decode_image(Path(row["path"]), max_pixels), config) for row in rows]
        self.paths = [row["path"] for row in rows]
        self.images = torch.from_numpy(np.stack(images)) if images else torch.empty(0)
        self.labels = torch.tensor([index[row["label"]] for row in rows], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[item], self.labels[item]


def load_split(splits_dir: Path | str, name: str, data_params: dict) -> ImageCsvDataset:
    """One split, with the classes of the label map and the preprocessing in `data_params`."""
    return ImageCsvDataset(
        Path(splits_dir) / f"{name}.csv",
        read_label_map(),
        PreprocessConfig.from_params(data_params),
        int(data_params.get("max_image_pixels", DEFAULT_MAX_PIXELS)),
    )
