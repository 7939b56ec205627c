"""The generated Kubernetes manifests (deploy/), rendered offline by the project's own `make k8s`
and checked against the Kubernetes schemas (`kubernetes-validate --strict`) and checkov's policies.
No cluster runs here: nothing is applied, no image is pulled."""

import json
import subprocess

import pytest
import yaml

from .conftest import project_env, render, run_in

VERSION, TAG = "v1.2.0", "1.2.0"
RENDERS = {
    "defaults": {},
    "postgresql-no-frontend": {"database": "postgresql", "include_frontend": False},
}


def manifests(project, environment: str) -> list[dict]:
    output = run_in(project, "make", "-s", "k8s", f"ENV={environment}", f"VERSION={VERSION}").stdout
    (project / f"k8s-{environment}.yaml").write_text(output)
    return [doc for doc in yaml.safe_load_all(output) if doc]


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@pytest.fixture(scope="module", params=RENDERS.values(), ids=RENDERS.keys())
def rendered(request, tmp_path_factory):
    project = render(tmp_path_factory.mktemp("k8s") / "digit-recognizer", **request.param)
    docs = {env: manifests(project, env) for env in ("staging", "production", "training")}
    return project, request.param, docs


def test_make_k8s_renders_each_environment_with_the_release_image_tag(rendered):
    project, answers, docs = rendered
    tag = run_in(project, "scripts/image-tag.sh", VERSION).stdout.strip()
    assert tag == TAG
    for environment in ("staging", "production"):
        deployments = by_kind(docs[environment], "Deployment")
        assert set(deployments) == {"backend"} | (
            {"frontend"} if answers.get("include_frontend", True) else set()
        )
        for deployment in deployments.values():
            assert deployment["metadata"]["namespace"] == f"digit-recognizer-{environment}"
            image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            assert image.endswith(f"-{deployment['metadata']['name']}:{tag}"), image
    job = by_kind(docs["training"], "Job")["train"]
    assert job["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f"-train:{tag}")
    assert not list((project / "deploy").glob(".k8s.*")), "the throwaway kustomization is removed"
    bad = subprocess.run(
        ["make", "-s", "k8s", "ENV=staging", "VERSION=1.2"],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0
    assert "version must look like v1.2.3" in bad.stderr


def test_backend_rolls_out_without_dropping_capacity_and_runs_hardened(rendered):
    _, answers, docs = rendered
    for environment in ("staging", "production"):
        resources = docs[environment]
        backend = by_kind(resources, "Deployment")["backend"]
        assert backend["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        pod = backend["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]) & set(
            container["resources"]["limits"]
        )
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        secret_ref = container["env"][0]["valueFrom"]["secretKeyRef"]
        assert container["env"][0]["name"] == "DATABASE_URL"
        assert "DATABASE_URL" in by_kind(resources, "Secret")[secret_ref["name"]]["stringData"]
        # Accounts: no shared token any more, the session key from a Secret kept out of git (the
        # pods wait for it), every write needs an account, forwarded headers from the ingress only.
        env = {variable["name"]: variable for variable in container["env"]}
        assert "ADMIN_TOKEN" not in env
        assert env["SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "session", "key": "SECRET_KEY"}
        assert "value" not in env["SECRET_KEY"]
        assert not any(
            "SECRET_KEY" in doc.get("stringData", {}) | doc.get("data", {})
            for doc in by_kind(resources, "Secret").values()
        ), "the session key is not in the manifests"
        assert env["AUTH_REQUIRED"]["value"] == "1"
        assert env["TRUSTED_PROXIES"]["value"], "the ingress controller's network is named"
        hpa = by_kind(resources, "HorizontalPodAutoscaler")["backend"]
        assert hpa["spec"]["scaleTargetRef"]["name"] == "backend"
        assert hpa["spec"]["minReplicas"] >= 2
        assert by_kind(resources, "PodDisruptionBudget")["backend"]["spec"]["minAvailable"] == 1
        assert set(by_kind(resources, "Service")) >= {"backend"}
        ingress = next(iter(by_kind(resources, "Ingress").values()))
        routes = {
            p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]
        }
        assert routes["/api"] == "backend"
        assert routes["/"] == ("frontend" if answers.get("include_frontend", True) else "backend")
    staging = by_kind(docs["staging"], "HorizontalPodAutoscaler")["backend"]["spec"]["maxReplicas"]
    production = by_kind(docs["production"], "HorizontalPodAutoscaler")["backend"]["spec"]["maxReplicas"]
    assert staging < production


def test_training_job_runs_torchrun_across_gpu_nodes_with_c10d_rendezvous(rendered):
    _, _, docs = rendered
    job = by_kind(docs["training"], "Job")["train"]
    service = by_kind(docs["training"], "Service")["train-rendezvous"]
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    args = container["args"]
    nodes = int(next(a for a in args if a.startswith("--nnodes=")).split("=")[1])
    assert container["command"] == ["torchrun"]
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == nodes > 1
    assert "--rdzv-backend=c10d" in args
    assert f"--rdzv-endpoint=train-0.{service['metadata']['name']}:29500" in args
    assert pod["subdomain"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"
    per_node = next(a for a in args if a.startswith("--nproc-per-node=")).split("=")[1]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == per_node
    assert args[-2:] == ["-m", "digit_recognizer.stages.train"]


def test_manifests_pass_kubernetes_validate_strict_and_checkov(rendered):
    project, _, _ = rendered
    files = [f"k8s-{environment}.yaml" for environment in ("staging", "production", "training")]
    validated = run_in(project, "kubernetes-validate", "--strict", *files)
    assert validated.stdout.count("passed for resource") >= 10
    assert "failed" not in validated.stdout.lower()
    scan = subprocess.run(
        ["checkov", "--skip-download", "--framework", "kubernetes", "--output", "json"]
        + [arg for name in files for arg in ("--file", name)],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=600,
    )
    reports = json.loads(scan.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    summary = {key: sum(r["summary"][key] for r in reports) for key in ("passed", "failed", "skipped")}
    failed = [c["check_id"] for r in reports for c in r["results"]["failed_checks"]]
    assert summary["failed"] == 0, failed
    assert summary["passed"] > 100
    # Every skipped policy carries its reason next to it (checkov.io/skipN: CHECK=reason).
    skipped = [c for r in reports for c in r["results"]["skipped_checks"]]
    assert skipped
    assert all(len(c["check_result"].get("suppress_comment", "")) > 20 for c in skipped)
    print(f"checkov: {summary}")
