"""The ONE preprocessing function, used by training, evaluation, export checks and the server.

Anything that changes how pixels become a tensor belongs here and nowhere else, so a model
never sees different inputs in training and in production.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class PreprocessConfig:
    image_size: int
    mode: str = "L"
    mean: float = 0.5
    std: float = 0.5

    @classmethod
    def from_params(cls, data_params: dict) -> "PreprocessConfig":
        return cls(
            image_size=int(data_params["image_size"]),
            mode=str(data_params["mode"]),
            mean=float(data_params["mean"]),
            std=float(data_params["std"]),
        )

    @property
    def channels(self) -> int:
        return len(self.mode)

    def as_dict(self) -> dict:
        return {"image_size": self.image_size, "mode": self.mode, "mean": self.mean, "std": self.std}


def preprocess(image: Image.Image, config: PreprocessConfig) -> np.ndarray:
    """PIL image -> float32 array of shape (channels, size, size), normalised."""
    image = image.convert(config.mode)
    if image.size != (config.image_size, config.image_size):
        image = image.resize((config.image_size, config.image_size), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    pixels = pixels[None, :, :] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return np.ascontiguousarray((pixels - config.mean) / config.std, dtype=np.float32)
