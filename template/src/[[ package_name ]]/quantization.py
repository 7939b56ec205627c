"""Static INT8 quantization with ONNX Runtime: the calibration draw, the QDQ conversion and the
advice when INT8 is over budget. Used by the quantize stage (the served model) and the benchmark
stage (every model of the pipeline, quantized the same way).

One QDQ file per *format*, because the runtimes want different ones (params.yaml `quantize.formats`):

- `cpu` (models/int8): U8S8 (unsigned activations, signed 7-bit weights, asymmetric). ONNX
  Runtime's x86 int8 kernels are U8S8 (VPMADDUBSW / VPDPBUSD take unsigned x signed operands), so an
  S8S8 file makes them shift every activation first; OpenVINO's CPU plugin reads the same QDQ file.
  ONNX Runtime docs ("Quantize ONNX models", Data type selection): "U8S8 ... is the default and
  faster", S8S8 "not rare to get worse performance on old devices". 7-bit weights (`reduce_range`)
  keep U8S8 exact on AVX2 without VNNI (docs, FAQ).
- `tensorrt` (models/int8_tensorrt): S8S8 with zero points of 0, the explicit INT8 TensorRT builds
  from (TensorRT developer guide, "Explicit quantization": symmetric signed INT8 only).
"""

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from .data.dataset import stack
from .runtime import host


def calibration_images(train_set: Dataset, samples: int, seed: int) -> np.ndarray:
    """float32 (N, C, H, W) calibration images: min(`samples`, len(train_set)) train images drawn
    without replacement by a generator seeded with `seed` (the same draw wherever it is made)."""
    rng = np.random.default_rng(seed)
    count = min(samples, len(train_set))
    chosen = np.sort(rng.choice(len(train_set), size=count, replace=False))
    return stack(train_set, chosen, desc="calibration images")[0]


class ArrayCalibrationReader(CalibrationDataReader):
    """Feeds calibration images (float32 (N, C, H, W)) to ONNX Runtime's calibrator in batches, with
    a progress bar on a terminal (each batch is one calibration forward pass)."""

    def __init__(self, input_name: str, images: np.ndarray, batch_size: int = 32):
        starts = range(0, len(images), batch_size)
        feeds = [{input_name: images[i : i + batch_size]} for i in starts]
        self.batches = iter(tqdm(feeds, desc="calibrate", unit="batch", disable=None, leave=False))

    def get_next(self) -> dict | None:
        return next(self.batches, None)


def quantize_int8(
    fp32_path: Path,
    int8_path: Path,
    input_name: str,
    calibration: np.ndarray,
    settings: dict,
    format_name: str = "cpu",
    nodes_to_exclude: Sequence[str] = (),
) -> None:
    """Write the QDQ INT8 model for `fp32_path`, calibrated on `calibration` (float32 (N, C, H, W)).

    `settings` is params.yaml's `quantize` section: calibrate_method (MinMax, Entropy or
    Percentile) and `formats.<format_name>`: activation_type, weight_type (QInt8 or QUInt8),
    reduce_range (7-bit weights) and symmetric_activations. `nodes_to_exclude` (ONNX node names)
    stay in FP32. Raises ValueError for an unknown format or a name ONNX Runtime does not know.
    """
    formats = settings.get("formats", {})
    if format_name not in formats:
        raise ValueError(f"quantize: no format {format_name!r} in params.yaml quantize.formats")
    spec = formats[format_name]
    int8_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared))  # shape inference + graph cleanup
        try:
            activation_type = QuantType[spec["activation_type"]]
            weight_type = QuantType[spec["weight_type"]]
            method = CalibrationMethod[settings["calibrate_method"]]
        except KeyError as error:
            raise ValueError(f"quantize: unknown setting {error} in params.yaml") from error
        quantize_static(
            str(prepared),
            str(int8_path),
            ArrayCalibrationReader(input_name, calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=bool(spec["reduce_range"]),
            nodes_to_exclude=list(nodes_to_exclude),
            activation_type=activation_type,
            weight_type=weight_type,
            calibrate_method=method,
            extra_options={
                "ActivationSymmetric": bool(spec["symmetric_activations"]),
                "WeightSymmetric": True,
            },
        )


def advice(settings: dict) -> str:
    """Which setting to change when INT8 is over budget, and why, for this CPU."""
    level = host.instruction_set()
    if not settings["formats"]["cpu"]["reduce_range"] and not host.has_vnni():
        return (
            f"this CPU ({host.cpu_model()}, {level}) has no VNNI, so ONNX Runtime's U8S8 int8 kernels "
            "saturate with 8-bit weights: set quantize.formats.cpu.reduce_range: true (7-bit weights)"
        )
    return (
        "raise quantize.calibration_samples, try quantize.calibrate_method: Percentile or Entropy "
        "(outliers widen MinMax ranges), or train longer; requirements.max_int8_accuracy_drop is the budget"
    )
