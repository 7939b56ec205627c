"""The ONE preprocessing function, used by training, evaluation, export checks and the server.

Anything that changes how pixels become a tensor belongs here and nowhere else, so a model
never sees different inputs in training and in production. It is NumPy + Pillow only: the server
image has no torch.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

Stat = float | tuple[float, ...]


@dataclass(frozen=True)
class PreprocessConfig:
    """How an upright "L"/"RGB" image becomes the model's input.

    image_size: side of the square the image is resized to, in pixels. mode: "L" (1 channel) or
    "RGB" (3). mean/std: normalisation of 0..1 pixels, one value for all channels or one per
    channel (a pretrained backbone's ImageNet statistics, model/backbones.py).
    """

    image_size: int
    mode: str = "L"
    mean: Stat = 0.5
    std: Stat = 0.5

    def __post_init__(self) -> None:
        for name in ("mean", "std"):  # lists from JSON manifests -> hashable tuples
            value = getattr(self, name)
            if isinstance(value, list | tuple):
                value = tuple(float(v) for v in value)
                if len(value) not in (1, self.channels):
                    raise ValueError(f"{name} has {len(value)} values for {self.channels} channel(s)")
            else:
                value = float(value)
            object.__setattr__(self, name, value)

    @classmethod
    def from_params(cls, data_params: dict) -> "PreprocessConfig":
        return cls(
            image_size=int(data_params["image_size"]),
            mode=str(data_params["mode"]),
            mean=data_params["mean"],
            std=data_params["std"],
        )

    @property
    def channels(self) -> int:
        return len(self.mode)

    def as_dict(self) -> dict:
        def plain(value: Stat) -> float | list[float]:
            return list(value) if isinstance(value, tuple) else value

        return {
            "image_size": self.image_size,
            "mode": self.mode,
            "mean": plain(self.mean),
            "std": plain(self.std),
        }


def preprocess(image: Image.Image, config: PreprocessConfig) -> np.ndarray:
    """PIL image (any size; "L" or "RGB" from data/images.py) -> float32 (channels, size, size).

    Converted to `config.mode`, resized with bilinear filtering to image_size x image_size (aspect
    ratio not kept), scaled to 0..1, then (pixels - mean) / std per channel.
    """
    image = image.convert(config.mode)
    if image.size != (config.image_size, config.image_size):
        image = image.resize((config.image_size, config.image_size), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    pixels = pixels[None, :, :] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    mean = np.asarray(config.mean, dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(config.std, dtype=np.float32).reshape(-1, 1, 1)
    return np.ascontiguousarray((pixels - mean) / std, dtype=np.float32)
