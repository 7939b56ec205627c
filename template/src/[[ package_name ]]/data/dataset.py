"""PyTorch Dataset over a split CSV, using the shared preprocessing function."""

import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from .preprocessing import PreprocessConfig, preprocess


class ImageCsvDataset(Dataset):
    """Images listed in `<split>.csv`; decoded once up front because sample datasets are small."""

    def __init__(self, csv_path: Path | str, classes: list[str], config: PreprocessConfig):
        with open(csv_path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        index = {name: i for i, name in enumerate(classes)}
        images = []
        for row in rows:
            with Image.open(row["path"]) as image:
                images.append(preprocess(image, config))
        self.paths = [row["path"] for row in rows]
        self.images = torch.from_numpy(np.stack(images)) if images else torch.empty(0)
        self.labels = torch.tensor([index[row["label"]] for row in rows], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[item], self.labels[item]


def load_split(splits_dir: Path | str, name: str, data_params: dict) -> ImageCsvDataset:
    classes = [str(c) for c in data_params["classes"]]
    return ImageCsvDataset(
        Path(splits_dir) / f"{name}.csv", classes, PreprocessConfig.from_params(data_params)
    )
