"""Self-test a model directory or a bundle on this machine, optionally scoring a labelled split.

    python -m <package>.runtime models/int8 [--engine openvino]
    python -m <package>.runtime models/int8 --split data/splits/test.csv --json out.json
    python -m <package>.runtime models/serve          # every candidate, then the one that would serve

Prints the golden-set report (and accuracy on the split), writes it as JSON when asked, and exits 1
when the golden set fails (for a bundle: when no candidate passes; each one's report is listed, then
the candidate the server would choose here, runtime/selection.py). Needs neither torch nor Flask, so
it runs in the serving image, in `make release-artifacts`, and under `qemu-x86_64 -cpu Haswell` to
try another CPU (`make test-cpu-compat`).
"""

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from ..artifacts import ArtifactError
from ..data.images import decode_image
from ..data.preprocessing import PreprocessConfig, preprocess
from . import host
from .engines import load_engine, predict_batched
from .golden import GoldenSetError, self_test
from .selection import bundle_candidates, is_bundle, read_manifest, runtime_unavailable, select_engine


def split_accuracy(engine, split_csv: Path) -> dict:
    """Top-1 accuracy of `engine` on a split CSV (path,label) with the manifest's preprocessing."""
    config = PreprocessConfig(**engine.manifest["preprocess"])
    index = {name: i for i, name in enumerate(engine.manifest["classes"])}
    with open(split_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    images = []
    for row in rows:
        images.append(preprocess(decode_image(Path(row["path"])), config))
    labels = np.array([index[row["label"]] for row in rows])
    predicted = predict_batched(engine, np.stack(images)).argmax(1)
    return {"images": len(rows), "accuracy": round(float((predicted == labels).mean()), 6)}


def check_model_dir(engine_kind: str, model_dir: Path, split: Path | None) -> tuple[dict, str | None]:
    """One model directory on one runtime: (report, the failure or None); raises ArtifactError."""
    report: dict = {}
    failed = None
    engine = load_engine(engine_kind, model_dir, verify=False)
    try:
        report["golden"] = self_test(engine, model_dir).as_dict()
    except GoldenSetError as error:
        report["golden"] = error.report.as_dict() if error.report else {"passed": False}
        failed = str(error)
    report["precision"] = engine.manifest.get("precision")
    if split:
        report["split"] = split_accuracy(engine, split)
    return report, failed


def check_bundle(model_dir: Path, split: Path | None) -> tuple[dict, str | None]:
    """Every candidate of a bundle that this host can run, then the one the server would choose."""
    candidates, failures = {}, []
    for candidate in bundle_candidates(model_dir):
        reason = runtime_unavailable(candidate.runtime)
        if reason:
            candidates[candidate.label] = {"skipped": reason}
            continue
        candidates[candidate.label], failed = check_model_dir(candidate.runtime, candidate.directory, split)
        if failed:
            failures.append(f"{candidate.label}: {failed}")
    report: dict = {"candidates": candidates}
    if len(failures) == sum("golden" in entry for entry in candidates.values()):
        return report, "; ".join(failures) or "no candidate can run here"
    _, selection = select_engine(model_dir)
    report["selection"] = selection.as_dict()
    return report, None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--engine", default="onnxruntime", choices=["onnxruntime", "openvino", "tensorrt"])
    parser.add_argument("--split", type=Path, help="a split CSV (path,label) to score as well")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    report: dict = {"model": str(args.model_dir), "host": host.describe()}
    try:
        if is_bundle(read_manifest(args.model_dir)):
            found, failed = check_bundle(args.model_dir, args.split)
        else:
            found, failed = check_model_dir(args.engine, args.model_dir, args.split)
    except ArtifactError as error:
        sys.exit(f"runtime: {error}")
    report.update(found)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(json.dumps(report, sort_keys=True))
    if failed:
        sys.exit(f"runtime: {failed}")


if __name__ == "__main__":
    main()
