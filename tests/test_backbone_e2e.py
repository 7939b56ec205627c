"""A render that picks a torchvision backbone (mobilenet_v3_small) trains, exports, quantizes, serves.

No internet here: the "ImageNet weights" are a state dict file that torchvision's own
`mobilenet_v3_small(weights=None)` wrote (a stand-in for the downloaded .pth), given to the render
as `model.weights_path`, the documented route for machines without internet.
"""

import json
import re

import pytest
import yaml

from .conftest import PIPELINE_STAGES, render, run_in

pytestmark = pytest.mark.e2e
STAGE_RUN = re.compile(r"Running stage '([a-z_]+)'")
WEIGHTS_STANDIN = """
import sys, torch, torchvision
torch.manual_seed(0)
torch.save(torchvision.models.mobilenet_v3_small(weights=None).state_dict(), sys.argv[1])
"""


@pytest.fixture(scope="module")
def backbone_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("backbone")
    answers = {"project_name": "Mobile Digits", "model_architecture": "mobilenet_v3_small"}
    project = render(root / "mobile-digits", **answers)
    weights = root / "mobilenet_v3_small-standin.pth"
    run_in(project, "python", "-c", WEIGHTS_STANDIN, str(weights))
    params_file = project / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    assert params["model"]["pretrained"] is True, "a backbone render starts from ImageNet weights"
    params["model"]["weights_path"] = str(weights)
    # Plumbing, not accuracy: a few epochs and no budgets (the note gives the full run's figures).
    params["train"]["epochs"] = 4
    params["distill"]["epochs"] = 2
    params["prune"].update(epochs=1, latency_runs=20)
    params["requirements"].update(
        min_test_accuracy=0, max_int8_accuracy_drop=1.0, min_int8_agreement=0.0, max_p99_latency_ms=1000
    )
    params["benchmark"].update(runs=20, warmup=2)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    output = run_in(project, "dvc", "repro", timeout=1800).stdout  # every stage, 2 cores
    return project, weights, output


def test_every_stage_runs_for_the_backbone(backbone_project):
    project, weights, output = backbone_project
    assert STAGE_RUN.findall(output) == PIPELINE_STAGES
    assert f"mobilenet_v3_small from file {weights}" in output, "train says what it started from"
    evaluate = json.loads((project / "metrics" / "evaluate.json").read_text())
    assert evaluate["samples"] == 270
    assert evaluate["accuracy"] > 0.3, "4 epochs from the stand-in weights still learn the digits"


def test_manifests_carry_the_weights_normalisation(backbone_project):
    project, _, _ = backbone_project
    for directory in ("onnx", "int8"):
        manifest = json.loads((project / "models" / directory / "manifest.json").read_text())
        preprocess = manifest["preprocess"]
        # Grey digits on an ImageNet backbone: one channel, the mean of ImageNet's RGB statistics.
        assert preprocess["mode"] == "L"
        assert preprocess["mean"] == pytest.approx([0.449], abs=1e-3)
        assert preprocess["std"] == pytest.approx([0.226], abs=1e-3)


def test_the_served_int8_model_reproduces_the_pipeline_and_its_golden_set(backbone_project):
    """The serving runtime (ONNX Runtime + the manifest's preprocessing, no torch) scores the test
    split exactly as the quantize stage did, and the INT8 golden set passes on this machine."""
    project, _, _ = backbone_project
    report = json.loads(
        run_in(
            project, "python", "-m", "mobile_digits.runtime", "models/int8", "--split", "data/splits/test.csv"
        ).stdout
    )
    assert report["golden"]["passed"] is True
    quantize = json.loads((project / "metrics" / "quantize.json").read_text())
    assert report["split"] == {"images": 270, "accuracy": quantize["int8_accuracy"]}
