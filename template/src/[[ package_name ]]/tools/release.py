"""Release artifacts for a version tag: the verified model files, SHA256SUMS and a model card.

    python -m <package>.tools.release --version v1.2.0     ->  dist/release/v1.2.0/

The files are the model bundle's artifacts (models/serve: FP32, INT8, TensorRT engines where
built). Every file is checked against its manifest first, and every artifact runs its golden-set
self-test on this machine with every runtime that can run it here (runtime/golden.py), so a
tampered, substituted or half-written model is never released; TensorRT engines are self-tested
where TensorRT and a GPU are present (the GPU server does it again at load). The model card also
says which candidate the server would choose on the release machine, and why; every server
measures again on its own host. The release workflow attaches the folder's files to the GitHub
Release.
"""

import argparse
import json
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..artifacts import ArtifactError, sha256_file, verify_manifest
from ..params import load_params
from ..paths import BENCHMARK_METRICS, BUNDLE_DIR, EVALUATE_METRICS, QUANTIZE_METRICS, TENSORRT_METRICS
from ..runtime.engines import load_engine
from ..runtime.selection import bundle_candidates, runtime_unavailable, select_engine

VERSION = re.compile(r"^v\d+\.\d+\.\d+$")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def self_tests(bundle: Path) -> dict[str, str]:
    """Each candidate's golden-set summary on this machine ("not run here (why)" where its runtime
    cannot run); raises GoldenSetError for the first that fails."""
    checks = {}
    for candidate in bundle_candidates(bundle):
        reason = runtime_unavailable(candidate.runtime)
        if reason:
            checks[candidate.label] = f"not run here ({reason})"
            continue
        checks[candidate.label] = load_engine(candidate.runtime, candidate.directory).golden.summary()
    return checks


def provenance(served: dict) -> str:
    """Which model is shipped (params.yaml `serve.model`) and where it came from, in one line."""
    origin = served.get("origin", {"kind": "trained"})
    name, architecture = served.get("name", "teacher"), served.get("architecture", "?")
    what = f"**{name}**: {architecture}, width {served.get('width', '?')}"
    if origin["kind"] == "distilled":
        how = f"distilled from `{origin['teacher']}` (T={origin['temperature']}, alpha={origin['alpha']})"
    elif origin["kind"] == "pruned":
        how = f"`{origin['teacher']}` with {origin['ratio']:.0%} of its channels pruned, then fine-tuned"
    else:
        how = "trained on the train split"
    return f"{what}, {how}; checkpoint `{served.get('checkpoint', '?')}`"


def model_card(version: str, files: dict[str, Path], manifest: dict, checks: dict[str, str]) -> str:
    evaluate = read_json(EVALUATE_METRICS)
    quantize = read_json(QUANTIZE_METRICS)
    engines = read_json(BENCHMARK_METRICS).get("engines", {})
    tensorrt = read_json(TENSORRT_METRICS).get("status", "not run")
    params = load_params()
    lines = [
        f"# Model card — {version}",
        "",
        f"Released {datetime.now(UTC):%Y-%m-%d}. Classes: {', '.join(manifest.get('classes', []))}.",
        f"Input: {manifest.get('preprocess', {})}.",
        "",
        "## Model",
        f"Served model: {provenance(manifest.get('served_model', {}))}.",
        "",
        "## Evaluation (held-out test split)",
        f"- trained model (teacher) accuracy: {evaluate.get('accuracy')}",
        f"- served model FP32 accuracy: {quantize.get('fp32_accuracy')}",
        f"- macro F1: {evaluate.get('f1_macro')}",
        f"- INT8 accuracy: {quantize.get('int8_accuracy')} (drop {quantize.get('accuracy_drop')})",
        f"- TensorRT: {tensorrt}",
        "",
        "## Latency and size (benchmark stage, CI machine)",
        "| engine | p50 ms | p99 ms | img/s | size bytes |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {e.get('latency_p50_ms')} | {e.get('latency_p99_ms')} | "
            f"{e.get('throughput_ips')} | {e.get('size_bytes')} |"
            for name, e in engines.items()
        ),
        "",
        "## Self-test (golden set, on the release machine)",
        *(f"- {kind}: {summary}" for kind, summary in checks.items()),
        "",
        "## Training parameters",
        "```json",
        json.dumps(params.get("train", {}), indent=2, sort_keys=True),
        "```",
        "",
        "## Files",
        *(f"- `{path.name}` ({kind})" for kind, path in files.items()),
        "",
        "## Intended use and limits",
        "Trained on this repository's versioned dataset (`dvc.lock` pins the exact data). Check the",
        "evaluation above on your own data before relying on it; inputs unlike the training images",
        "(other sizes, colours or content) are out of scope.",
    ]
    return "\n".join(lines) + "\n"


def build_release(version: str, out_root: Path = Path("dist/release")) -> Path:
    if not VERSION.match(version):
        raise ValueError(f"version {version!r} must look like v1.2.3")
    out = out_root / version
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    files, first_manifest = {}, None
    checks = self_tests(BUNDLE_DIR)  # raises ArtifactError for a missing, tampered or failing artifact
    for directory in sorted({c.directory for c in bundle_candidates(BUNDLE_DIR)}):
        model_path, manifest = verify_manifest(directory)
        first_manifest = first_manifest or manifest
        target = out / f"model-{version}-{directory.name}{model_path.suffix}"
        shutil.copyfile(model_path, target)
        files[directory.name] = target
    _, selection = select_engine(BUNDLE_DIR)
    checks["served on this machine"] = f"{selection.chosen}: {selection.reason}"
    (out / "MODEL_CARD.md").write_text(model_card(version, files, first_manifest or {}, checks))
    sums = [f"{sha256_file(path)}  {path.name}" for path in sorted(out.iterdir())]
    (out / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Collect release artifacts for a version tag.")
    parser.add_argument("--version", required=True, help="the git tag, e.g. v1.2.0")
    args = parser.parse_args(argv)
    try:
        out = build_release(args.version)
    except (ValueError, ArtifactError) as error:
        sys.exit(f"release: {error}")
    for path in sorted(out.iterdir()):
        print(f"{path}  {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
