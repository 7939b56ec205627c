"""Where every pipeline artifact lives, relative to the project root: the one definition.

Stage modules, release, review and the serving defaults import these names; dvc.yaml (which cannot
import Python) names the same paths, and tests/test_paths.py checks that the two agree.
"""

from pathlib import Path

RAW_DIR = Path("data/raw")  # collect's copy of the source, <class>/<image>
LABEL_MAP = Path("data/label_map.json")  # class names in model-output order, from the data
SPLITS_DIR = Path("data/splits")  # {train,val,test}.csv with path,label
VALIDATION_REPORT = Path("reports/validation.json")

CHECKPOINT = Path("models/model.safetensors")  # the trained model: the teacher of distill and prune
STUDENT_CHECKPOINT = Path("models/student.safetensors")  # distill: smaller model, teacher's soft labels
PRUNED_CHECKPOINT = Path("models/pruned.safetensors")  # prune: the teacher with channels removed
MODEL_CHECKPOINTS = {"teacher": CHECKPOINT, "student": STUDENT_CHECKPOINT, "pruned": PRUNED_CHECKPOINT}
DISTILL_METRICS = Path("metrics/distill.json")
DISTILL_LIVE_DIR = Path("reports/distill")  # DVCLive of the student's training, laid out like train's
PRUNE_METRICS = Path("metrics/prune.json")
PRUNE_LIVE_DIR = Path("reports/prune")  # DVCLive of the fine-tune after pruning, laid out like train's
TRAIN_LIVE_DIR = Path("reports/train")  # DVCLive: metrics.json, plots/metrics/{train,val}/*.tsv
EVALUATE_METRICS = Path("metrics/evaluate.json")
CONFUSION = Path("reports/confusion.csv")
EVALUATION_DIR = Path("reports/evaluation")  # <model>/report.json + misclassified/*.png (web UI)
ONNX_DIR = Path("models/onnx")
EXPORT_METRICS = Path("metrics/export.json")
INT8_DIR = Path("models/int8")  # the CPU INT8 (U8S8) that ONNX Runtime and OpenVINO serve
INT8_TENSORRT_DIR = Path("models/int8_tensorrt")  # S8S8: the explicit INT8 TensorRT builds from
QUANTIZE_METRICS = Path("metrics/quantize.json")
TENSORRT_DIR = Path("models/tensorrt")
TENSORRT_METRICS = Path("metrics/tensorrt.json")
BUNDLE_DIR = Path("models/serve")  # package: every servable artifact; the server picks one per host
BENCHMARK_METRICS = Path("metrics/benchmark.json")
CHECK_METRICS = Path("metrics/check.json")  # each requirement budget: measured, allowed, passed
SERVE_BENCHMARK_REPORT = Path("reports/serve_benchmark.json")
MODEL_REVIEW = Path("reports/model-review.md")
MODEL_REVIEW_PLOTS = Path("reports/model-review-plots")  # `dvc plots diff` HTML beside the review


def served_checkpoint(serve: dict) -> tuple[str, Path]:
    """(name, checkpoint) of the model params.yaml's `serve.model` ships through export -> release.

    Raises ValueError for a name other than teacher, student or pruned.
    """
    name = str(serve["model"])
    if name not in MODEL_CHECKPOINTS:
        raise ValueError(f"serve.model: {name!r} is not one of {', '.join(MODEL_CHECKPOINTS)}")
    return name, MODEL_CHECKPOINTS[name]
