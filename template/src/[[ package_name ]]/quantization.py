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

Accuracy-aware INT8 (`quantize_with_backoff`): when plain post-training quantization is over the
gate, the nodes that lose the most signal stay in FP32 and the model is quantized again, with more
of them each time, up to `quantize.max_fp32_nodes`.
"""

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)
from onnxruntime.quantization.qdq_loss_debug import (
    collect_activations,
    compute_activation_error,
    create_activation_matching,
    modify_model_output_intermediate_tensors,
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
    with tempfile.TemporaryDirectory() as tmp:
        quantize_prepared(
            prepare(fp32_path, Path(tmp)),
            int8_path,
            ArrayCalibrationReader(input_name, calibration),
            formats[format_name],
            settings["calibrate_method"],
            nodes_to_exclude=nodes_to_exclude,
        )


def quantize_prepared(
    prepared: Path,
    int8_path: Path,
    reader: CalibrationDataReader,
    spec: dict,
    calibrate_method: str,
    *,
    nodes_to_exclude: Sequence[str] = (),
    nodes_to_quantize: Sequence[str] | None = None,
) -> None:
    """ONNX Runtime's static QDQ quantization of a `prepare`d graph into `int8_path`, per channel,
    with one of params.yaml's `quantize.formats` (`spec`: activation_type, weight_type,
    reduce_range, symmetric_activations) and a CalibrationMethod name: the one call every INT8
    model of the project goes through (the classifier's formats, the detector's backbone).

    `nodes_to_quantize` (None: all) and `nodes_to_exclude` are the prepared graph's node names.
    Raises ValueError for a name ONNX Runtime does not know.
    """
    try:
        activation_type = QuantType[spec["activation_type"]]
        weight_type = QuantType[spec["weight_type"]]
        method = CalibrationMethod[calibrate_method]
    except KeyError as error:
        raise ValueError(f"quantize: unknown setting {error} in params.yaml") from error
    int8_path.parent.mkdir(parents=True, exist_ok=True)
    quantize_static(
        str(prepared),
        str(int8_path),
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        reduce_range=bool(spec["reduce_range"]),
        nodes_to_quantize=list(nodes_to_quantize) if nodes_to_quantize is not None else None,
        nodes_to_exclude=list(nodes_to_exclude),
        activation_type=activation_type,
        weight_type=weight_type,
        calibrate_method=method,
        extra_options={
            "ActivationSymmetric": bool(spec["symmetric_activations"]),
            "WeightSymmetric": True,
        },
    )


def prepare(fp32_path: Path, directory: Path, *, skip_symbolic_shape: bool = False) -> Path:
    """ONNX Runtime's pre-processing of `fp32_path` (shape inference + graph cleanup) into
    `directory`: the graph whose node names `nodes_to_exclude` refers to. `skip_symbolic_shape`
    for graphs whose data-dependent shapes (NMS) its symbolic shape inference cannot follow."""
    prepared = directory / "prepared.onnx"
    quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=skip_symbolic_shape)
    return prepared


@dataclass(frozen=True)
class NodeError:
    """One quantized step of the FP32 graph and the signal its quantization loses.

    `nodes` are the FP32 graph's nodes between two quantized tensors, in graph order: a Conv and
    the Relu that ONNX Runtime's QDQ format fuses into it, a ReduceMean and the Reshape after it;
    the last one produces the quantized tensor. `sqnr_db` is that tensor's SQNR (dB) in the INT8
    model against the FP32 model, `input_sqnr_db` that of its worst quantized input (the INT8
    model's input quantization for the first layer); `loss_db` = input_sqnr_db - sqnr_db is what
    these nodes add (their weights' and output's quantization), not the error they inherit.
    """

    nodes: tuple[str, ...]
    op_types: tuple[str, ...]
    sqnr_db: float
    input_sqnr_db: float

    @property
    def loss_db(self) -> float:
        return self.input_sqnr_db - self.sqnr_db

    def as_dict(self) -> dict:
        return {
            "nodes": list(self.nodes),
            "op_types": list(self.op_types),
            "sqnr_db": round(self.sqnr_db, 3),
            "loss_db": round(self.loss_db, 3),
        }


def rank_nodes(fp32_path: Path, int8_path: Path, input_name: str, images: np.ndarray) -> list[NodeError]:
    """The quantized steps of `fp32_path`'s prepared graph in `int8_path`, the worst first.

    ONNX Runtime's QDQ debugger (onnxruntime.quantization.qdq_loss_debug; ONNX Runtime docs,
    "Quantize ONNX models", Quantization Debugging): both models are augmented to output every
    activation (`modify_model_output_intermediate_tensors`), run on `images` (float32 (N, C, H, W))
    (`collect_activations`), matched tensor by tensor (`create_activation_matching`) and compared
    as SQNR (`compute_activation_error`, "xmodel_err": FP32 vs the INT8 model's dequantized tensor).
    Each quantized tensor's step (the nodes between it and the quantized tensors it reads) is ranked
    by the dB it loses (NodeError.loss_db), so the error that accumulates along the graph does not
    put the last layers first by default.
    """
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        prepared = prepare(fp32_path, directory)
        activations = {}
        for name, path in (("float", prepared), ("qdq", int8_path)):
            augmented = directory / f"{name}_augmented.onnx"
            modify_model_output_intermediate_tensors(str(path), str(augmented))
            reader = ArrayCalibrationReader(input_name, images)
            activations[name] = collect_activations(str(augmented), reader)
        graph = onnx.load(str(prepared)).graph
    matching = create_activation_matching(activations["qdq"], activations["float"])
    errors = compute_activation_error(matching)
    sqnr = {name: value["xmodel_err"] for name, value in errors.items() if "xmodel_err" in value}
    exact = 20 * math.log10(1 / np.finfo(np.float64).eps)  # an input INT8 leaves in float
    initializers = {tensor.name for tensor in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    order = {id(node): index for index, node in enumerate(graph.node)}
    ranked = []
    for node in graph.node:
        if not node.name or not node.output or node.output[0] not in sqnr:
            continue
        group, inputs, pending = {id(node): node}, [], list(node.input)
        while pending:  # back through the unquantized tensors to the quantized ones this step reads
            tensor = pending.pop()
            if not tensor or tensor in initializers:
                continue
            if tensor in sqnr:
                inputs.append(sqnr[tensor])
            elif tensor in producers and id(producers[tensor]) not in group:
                group[id(producers[tensor])] = producers[tensor]
                pending.extend(producers[tensor].input)
            elif tensor not in producers:
                inputs.append(exact)
        members = sorted(group.values(), key=lambda member: order[id(member)])
        ranked.append(
            NodeError(
                tuple(member.name for member in members),
                tuple(member.op_type for member in members),
                sqnr[node.output[0]],
                min(inputs, default=exact),
            )
        )
    return sorted(ranked, key=lambda error: error.loss_db, reverse=True)


def backoff_steps(max_nodes: int, candidates: int) -> list[int]:
    """How many of the worst nodes each retry keeps in FP32: 1, 2, 4, ... and then the cap,
    min(max_nodes, candidates)."""
    cap = min(max_nodes, candidates)
    steps, count = [], 1
    while count < cap:
        steps.append(count)
        count *= 2
    return steps + [cap] if cap > 0 else []


@dataclass
class BackoffResult:
    """What `quantize_with_backoff` did: the nodes finally kept in FP32 (empty when plain INT8
    passed), the judge's verdict on the model left at int8_path, every attempt as
    (fp32 nodes, verdict), and the ranking (empty when none was needed)."""

    fp32_nodes: list[str]
    verdict: object
    attempts: list[tuple[list[str], object]] = field(default_factory=list)
    ranking: list[NodeError] = field(default_factory=list)


def quantize_with_backoff(
    fp32_path: Path,
    int8_path: Path,
    input_name: str,
    calibration: np.ndarray,
    settings: dict,
    format_name: str,
    judge: Callable[[Path], object],
    max_fp32_nodes: int,
) -> BackoffResult:
    """Accuracy-aware INT8: quantize, and while `judge(int8_path)` says the model is over the gate
    (a verdict with a `passed` attribute, e.g. budgets.Int8Gate), keep more of the nodes that cost
    the accuracy in FP32 and quantize again.

    The nodes are ranked once, on the plain INT8 model, by ONNX Runtime's QDQ debugger
    (`rank_nodes`, on the calibration images), in steps: the nodes between two quantized tensors
    (a Conv with the Relu QDQ fuses into it is one step). Retries keep the 1, 2, 4, ... worst steps
    in FP32 (`nodes_to_exclude` of ONNX Runtime's quantize_static; ONNX Runtime docs, "Quantize
    ONNX models": nodes to exclude stay in float), up to `max_fp32_nodes` steps; the first that
    passes is kept. When none does, int8_path holds the last attempt and the verdict says so: the
    caller fails. `max_fp32_nodes` 0 is plain INT8 only.
    """
    quantize_int8(fp32_path, int8_path, input_name, calibration, settings, format_name)
    verdict = judge(int8_path)
    result = BackoffResult([], verdict, [([], verdict)])
    if verdict.passed or max_fp32_nodes <= 0:
        return result
    result.ranking = rank_nodes(fp32_path, int8_path, input_name, calibration)
    for count in backoff_steps(max_fp32_nodes, len(result.ranking)):
        nodes = [node for error in result.ranking[:count] for node in error.nodes]
        quantize_int8(fp32_path, int8_path, input_name, calibration, settings, format_name, nodes)
        verdict = judge(int8_path)
        result.fp32_nodes, result.verdict = nodes, verdict
        result.attempts.append((nodes, verdict))
        if verdict.passed:
            break
    return result


def advice(settings: dict) -> str:
    """Which setting to change when INT8 is over budget, and why, for this CPU."""
    level = host.instruction_set()
    if not settings["formats"]["cpu"]["reduce_range"] and not host.has_vnni():
        return (
            f"this CPU ({host.cpu_model()}, {level}) has no VNNI, so ONNX Runtime's U8S8 int8 kernels "
            "saturate with 8-bit weights: set quantize.formats.cpu.reduce_range: true (7-bit weights)"
        )
    return (
        "raise quantize.calibration_samples or quantize.max_fp32_nodes (layers kept in FP32), try "
        "quantize.calibrate_method: Percentile or Entropy (outliers widen MinMax ranges), or train longer; "
        "requirements.max_int8_accuracy_drop and min_int8_agreement are the budgets"
    )
