"""Training-time augmentation from `train.augment` in params.yaml, with torchvision transforms v2.

Applied to the decoded, upright PIL image of training items only (validation, test, calibration and
serving see `preprocessing.preprocess` alone). Reference: torchvision "Transforming images, videos,
boxes and more" (transforms v2) and "Illustration of transforms".
"""

from torchvision.transforms import v2


def build_augmentation(settings: dict | None, image_size: int) -> v2.Compose | None:
    """`train.augment` -> a v2 pipeline (PIL image in, PIL image out), or None when all are off.

    Keys (all optional): crop_scale [min, max] area fraction for RandomResizedCrop to
    image_size x image_size ([1.0, 1.0]: off); rotation_degrees (RandomRotation, +/- degrees);
    horizontal_flip (probability; keep 0 when a mirrored image changes the class: digits, text);
    color_jitter (brightness and contrast +/- fraction). Raises ValueError for an unknown key or a
    value out of range.
    """
    settings = dict(settings or {})
    known = {"crop_scale", "rotation_degrees", "horizontal_flip", "color_jitter"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"unknown train.augment setting(s) {unknown}; known: {sorted(known)}")
    steps: list = []
    low, high = (float(v) for v in settings.get("crop_scale", (1.0, 1.0)))
    if not 0 < low <= high <= 1:
        raise ValueError(f"train.augment.crop_scale must be 0 < min <= max <= 1, got {[low, high]}")
    if low < 1.0:
        steps.append(v2.RandomResizedCrop(image_size, scale=(low, high), antialias=True))
    degrees = float(settings.get("rotation_degrees", 0))
    if degrees:
        steps.append(v2.RandomRotation(degrees, interpolation=v2.InterpolationMode.BILINEAR))
    flip = float(settings.get("horizontal_flip", 0))
    if not 0 <= flip <= 1:
        raise ValueError(f"train.augment.horizontal_flip is a probability, got {flip}")
    if flip:
        steps.append(v2.RandomHorizontalFlip(flip))
    jitter = float(settings.get("color_jitter", 0))
    if jitter:
        steps.append(v2.ColorJitter(brightness=jitter, contrast=jitter))
    return v2.Compose(steps) if steps else None


def describe(pipeline: v2.Compose | None) -> str:
    return "none" if pipeline is None else ", ".join(type(step).__name__ for step in pipeline.transforms)
