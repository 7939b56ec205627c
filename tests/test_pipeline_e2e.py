"""A fresh default render runs its whole DVC pipeline on CPU, reproducibly."""

import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from .conftest import PIPELINE_STAGES, project_env, render, run_in

pytestmark = pytest.mark.e2e
STAGE_RUN = re.compile(r"Running stage '([a-z_]+)'")


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    project = render(tmp_path_factory.mktemp("e2e") / "digit-recognizer")
    first = run_in(project, "dvc", "repro")
    return project, first.stdout


def metrics(project, name):
    return json.loads((project / "metrics" / f"{name}.json").read_text())


def test_first_repro_runs_every_stage(reproduced):
    _, output = reproduced
    assert STAGE_RUN.findall(output) == PIPELINE_STAGES


def test_metrics_show_accuracy_int8_budget_and_benchmark(reproduced):
    project, _ = reproduced
    shown = json.loads(run_in(project, "dvc", "metrics", "show", "--json").stdout)
    (workspace,) = (revision["data"] for revision in shown.values())  # only the workspace: no commits yet
    evaluate = workspace["metrics/evaluate.json"]["data"]
    quantize = workspace["metrics/quantize.json"]["data"]
    benchmark = workspace["metrics/benchmark.json"]["data"]
    assert evaluate["accuracy"] >= 0.95
    assert quantize["accuracy_drop"] <= quantize["max_accuracy_drop"] == 0.01
    assert set(benchmark["engines"]) >= {"pytorch_fp32", "onnxruntime_fp32", "onnxruntime_int8"}
    assert benchmark["ratios"]["int8_vs_fp32_size"] < 0.5
    assert workspace["metrics/tensorrt.json"]["data"]["status"] == "skipped: no TensorRT"
    assert benchmark["host"]["instruction_set"]
    assert benchmark["host"]["cpu"]
    print(
        "\nfigures:",
        json.dumps(
            {
                "evaluate": evaluate["accuracy"],
                "quantize": quantize,
                "benchmark": benchmark["engines"],
                "ratios": benchmark["ratios"],
            }
        ),
    )


def test_second_repro_does_nothing(reproduced):
    project, _ = reproduced
    # Importing the package (tests, the server) writes __pycache__ into the directories that stages
    # depend on; src/.dvcignore keeps them out of the hashes.
    package = project / "src" / "digit_recognizer"
    run_in(
        project,
        "python",
        "-c",
        "import compileall, sys; compileall.compile_dir(sys.argv[1], quiet=1)",
        str(package),
    )
    assert list(package.glob("runtime/__pycache__/*.pyc"))
    assert "Data and pipelines are up to date" in run_in(project, "dvc", "status").stdout
    output = run_in(project, "dvc", "repro").stdout
    assert STAGE_RUN.findall(output) == []
    assert "Data and pipelines are up to date" in output


def test_changing_a_param_reruns_only_the_stages_that_read_it(reproduced):
    project, _ = reproduced
    params_file = project / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["quantize"]["calibration_samples"] = 200
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    output = run_in(project, "dvc", "repro").stdout
    assert STAGE_RUN.findall(output) == ["quantize", "build_engine", "package", "benchmark", "check"]
    assert metrics(project, "quantize")["calibration_samples"] == 200


def test_teacher_student_and_pruned_are_each_measured_and_budgets_hold(reproduced):
    project, _ = reproduced
    models = metrics(project, "benchmark")["models"]
    assert set(models) == {"teacher", "student", "pruned"}
    for row in models.values():
        measured = {"accuracy", "int8_accuracy_drop", "latency_p50_ms", "latency_p99_ms", "throughput_ips"}
        assert measured <= set(row)
    assert models["student"]["vs_teacher"]["parameters"] < 0.2
    prune = metrics(project, "prune")
    assert prune["after_vs_before"]["parameters"] < 0.35
    assert prune["after_vs_before"]["macs"] < 0.35
    assert all(budget["passed"] for budget in metrics(project, "check").values())
    print(
        "\nlightweighting:",
        json.dumps({name: row["vs_teacher"] | {"absolute": row["accuracy"]} for name, row in models.items()}),
        json.dumps(prune),
    )


def test_a_broken_budget_fails_dvc_repro_naming_it(reproduced):
    project, _ = reproduced
    params_file = project / "params.yaml"
    original = params_file.read_text()
    params_file.write_text(re.sub(r"(?m)^  max_model_size_mb: .*$", "  max_model_size_mb: 0.001", original))
    try:
        env = project_env(project)
        failed = subprocess.run(["dvc", "repro"], cwd=project, env=env, capture_output=True, text=True)
    finally:
        params_file.write_text(original)
    assert failed.returncode != 0
    assert STAGE_RUN.findall(failed.stdout) == ["check"]
    size = metrics(project, "benchmark")["engines"]["onnxruntime_int8"]["size_bytes"] / 1e6
    assert f"requirements.max_model_size_mb: measured {size:.6g}, allowed at most 0.001" in failed.stdout
    assert "1 of 5 requirement budgets broken" in failed.stdout + failed.stderr
    run_in(project, "dvc", "repro")


def test_serving_benchmark_prints_one_table_with_bentoml_upload_check_and_in_process(reproduced):
    """Short runs (the figures themselves come from `make bench-serve`); BentoML is installed into
    its own venv by the script on first use."""
    project, _ = reproduced
    command = [
        "python",
        "-m",
        "digit_recognizer.tools.loadtest.serve_benchmark",
        "--seconds",
        "2",
        "--concurrency",
        "8",
    ]
    output = run_in(project, *command, timeout=1800).stdout
    report = json.loads((project / "reports" / "serve_benchmark.json").read_text())
    servers = {row["server"] for row in report["rows"]}
    assert servers == {
        "in-process",
        "upload-check",
        "bentoml",
        "gunicorn default",
        "gunicorn gthread",
        "gunicorn sync",
        "gunicorn batch-wait",
    }
    for row in report["rows"]:
        assert row["concurrency"] == 8
        assert row["ok"] > 0, row
        assert {"latency_p50_ms", "latency_p99_ms", "rps", "errors", "server_errors"} <= set(row)
        assert re.search(rf"^{re.escape(row['server'])}\s+8\s", output, re.MULTILINE)
    assert set(report["ratios"]["gunicorn default@8"]) == {"of_best", "of_upload_check", "of_bentoml"}
    # The batcher's own counters (/metrics, all workers): off means direct, a wait means batched.
    batched = {row["server"]: row.get("batched") for row in report["rows"]}
    assert batched["gunicorn gthread"] == batched["gunicorn sync"] == 0.0
    assert batched["gunicorn batch-wait"] == 1.0
    assert 0.0 <= batched["gunicorn default"] <= 1.0
    print("\nserve benchmark:\n" + output.strip())


def test_int8_model_self_tests_and_keeps_its_accuracy_on_an_emulated_avx2_cpu(reproduced):
    """The real pipeline's INT8 model under `qemu-x86_64 -cpu Haswell` (AVX2, no VNNI), then the
    render's own portability test, which also proves the old settings collapse there."""
    project, _ = reproduced
    qemu = shutil.which("qemu-x86_64")
    assert qemu, "scripts/bootstrap.sh installs qemu-user"
    quantize = metrics(project, "quantize")
    assert quantize["formats"]["cpu"]["settings"]["reduce_range"] is True
    emulated = run_in(
        project,
        qemu,
        "-cpu",
        "Haswell",
        sys.executable,
        "-m",
        "digit_recognizer.runtime",
        "models/int8",
        "--split",
        "data/splits/test.csv",
    )
    report = json.loads(emulated.stdout.strip().splitlines()[-1])
    assert report["host"]["instruction_set"] == "avx2"
    assert report["golden"]["passed"]
    assert quantize["fp32_accuracy"] - report["split"]["accuracy"] <= quantize["allowed_accuracy_drop"]
    print("\nemulated Haswell:", json.dumps(report["split"]), json.dumps(report["golden"]))
    own_test = run_in(project, "make", "test-cpu-compat")
    assert "1 passed" in own_test.stdout
    assert "old settings" in own_test.stdout


def test_dvclive_training_curves_show_in_dvc_plots_and_experiments(reproduced):
    project, _ = reproduced
    plots = json.loads(run_in(project, "dvc", "plots", "show", "--json").stdout)["data"]
    assert {"training loss", "validation accuracy", "confusion matrix"} <= set(plots)
    curve = plots["validation accuracy"]
    assert curve, "the plot has data"
    files = {value["filename"] for value in curve[0]["content"]["data"]["values"]}
    for stage in ("train", "distill", "prune"):  # teacher, student, pruned model's fine-tune
        assert any(name.endswith(f"{stage}/plots/metrics/val/accuracy.tsv") for name in files), files
    experiments = json.loads(run_in(project, "dvc", "exp", "show", "--json").stdout)
    metrics = experiments[0]["data"]["metrics"]
    params = yaml.safe_load((project / "params.yaml").read_text())
    for stage in ("train", "distill", "prune"):
        live = metrics[f"reports/{stage}/metrics.json"]["data"]
        assert live["step"] == params[stage]["epochs"], stage
    assert 0.9 < metrics["reports/train/metrics.json"]["data"]["best_val_accuracy"] <= 1.0
