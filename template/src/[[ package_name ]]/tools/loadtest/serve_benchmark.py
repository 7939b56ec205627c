"""`make bench-serve`: this project's server side by side with a dedicated model server, on the
same machine, the same model file and the same request mix (digits as PNG and JPEG multipart
uploads), at each concurrency in `serve_benchmark.concurrency` (params.yaml):

- gunicorn: /api/predict under each configuration in `serve_benchmark.servers` (`default`: the
  settings' own defaults);
- upload-check: /api/upload-check of a server in the first configuration, which parses the upload
  and answers without decoding it: the HTTP stack's own limit (predict near it means decoding and
  the model cost little);
- bentoml: BentoML serving the same ONNX file with adaptive batching (tools/loadtest/bento_service.py),
  from its own venv that this script creates (BENTOML_VENV, default ~/.cache/fullstack-ml/bentoml);
  never a dependency of this project;
- in-process: the server's per-request work (decode, preprocess, engine, softmax) in threads,
  without HTTP.

Load comes from locust (headless, tools/loadtest/upload_locustfile.py), the servers taking turns
(`serve_benchmark.rounds` turns each); every request is kept and summarised with the same latency
keys as the benchmark stage. The table (with each /api/predict row's throughput over the best row's
and over upload-check's) is printed and written to reports/serve_benchmark.json. Traffic stays on
127.0.0.1.

    python -m <pkg>.tools.loadtest.serve_benchmark [--seconds 8] [--concurrency 1 8 32] [--skip-bentoml]
"""

import argparse
import contextlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime

from ...data.images import decode_image
from ...data.preprocessing import preprocess
from ...latency import latency_summary
from ...params import load_params, write_json
from ...paths import BUNDLE_DIR, SERVE_BENCHMARK_REPORT, SPLITS_DIR
from ...runtime import host
from ...runtime.selection import select_engine
from ...serving.registry import LoadedModel, local_version
from .client import run_locust, summarise
from .uploads import image_files

PACKAGE = __package__.split(".")[0]
BENTOML_VENV = Path(os.environ.get("BENTOML_VENV", Path.home() / ".cache" / "fullstack-ml" / "bentoml"))


def test_pngs(count: int) -> list[Path]:
    """The first `count` test-split images (written by the pipeline's split stage)."""
    rows = (SPLITS_DIR / "test.csv").read_text().splitlines()[1 : count + 1]
    return [Path(row.rsplit(",", 1)[0]) for row in rows]


def in_process(model_dir: Path, files: list[Path], concurrency: int, seconds: float, max_pixels: int) -> dict:
    """The server's per-request work, called directly by `concurrency` threads for `seconds`."""
    engine, selection = select_engine(model_dir)  # what the server would serve on this host
    model = LoadedModel(None, local_version(engine.manifest), engine, selection)
    payloads = [file.read_bytes() for file in files]
    latencies: list[float] = []

    def handle(index: int) -> None:
        image = decode_image(payloads[index % len(payloads)], max_pixels)
        model.probabilities(preprocess(image, model.preprocess)[np.newaxis])

    def loop(offset: int) -> None:
        index = offset
        while time.perf_counter() < stop:
            start = time.perf_counter()
            handle(index)
            latencies.append(time.perf_counter() - start)
            index += 1

    for index in range(20):  # warm-up
        handle(index)
    stop = time.perf_counter() + seconds
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(concurrency)]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begin
    return {
        "requests": len(latencies), "ok": len(latencies), "errors": 0, "no_answer": 0, "server_errors": 0,
        "rps": round(len(latencies) / elapsed, 1),
    } | latency_summary(latencies)  # fmt: skip


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 120) -> None:
    """Until GET /readyz answers 200; raises RuntimeError when the server exits or never gets ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"server on port {port} did not become ready in {timeout} s")


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    """Run a server until the block ends, once its /readyz answers 200 (output to `log`); raises
    RuntimeError with the log's tail when it exits or never gets ready."""
    with log.open("w") as output:
        process = subprocess.Popen(command, env=os.environ | env, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_ready(port, process)
            yield
        except RuntimeError as error:
            raise RuntimeError(f"{error}; log: {log.read_text()[-2000:]}") from error
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def gunicorn(port: int, instance: Path, model_dir: Path, workers: int, extra: dict, log: Path):
    """This project's server (gunicorn.conf.py, SQLite in `instance` unless DATABASE_URL is set), with
    the environment `extra` on top (e.g. GUNICORN_THREADS, BATCH_MAX_SIZE)."""
    env = {
        "MODEL_DIR": str(model_dir.resolve()),
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{instance}/bench.db"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "RUN_MIGRATIONS": "1",
        # One metrics folder for the workers, so that /metrics counts all of them (prediction_paths).
        "PROMETHEUS_MULTIPROC_DIR": str(instance / "metrics"),
    } | {key: str(value) for key, value in extra.items()}
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null"]
    return running([*command, f"{PACKAGE}.serving.wsgi:app"], env, port, log)


def prediction_paths(port: int) -> dict[str, float]:
    """The server's batcher_predictions_total per path ({"direct": n, "batched": n}) from /metrics,
    summed over its workers (serving/batching.py); {} when the server does not export them."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    found = {}
    for line in text.splitlines():
        if line.startswith("batcher_predictions_total{"):
            labels, value = line.rsplit(" ", 1)
            path = labels.split('path="', 1)[1].split('"', 1)[0]
            found[path] = found.get(path, 0.0) + float(value)
    return found


def bentoml_python(version: str) -> Path:
    """BentoML's own venv (created on first use) with the ONNX Runtime version this project runs."""
    python = BENTOML_VENV / "bin" / "python"
    wanted = f"bentoml=={version} onnxruntime=={onnxruntime.__version__}"
    marker = BENTOML_VENV / "installed.txt"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENTOML_VENV)], check=True)
    if not marker.exists() or marker.read_text() != wanted:
        print(f"installing {wanted} into {BENTOML_VENV} ...", flush=True)
        packages = [*wanted.split(), "numpy", "pillow", "pyyaml"]
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, *packages], check=True)
        marker.write_text(wanted)
    return python


def bentoml_server(port: int, model_dir: Path, workers: int, settings: dict, log: Path):
    """BentoML serving `model_dir` through tools/loadtest/bento_service.py (`serve_benchmark.bentoml`)."""
    python = bentoml_python(settings["version"])
    env = {
        "MODEL_DIR": str(model_dir.resolve()),
        "PYTHONPATH": str(Path("src").resolve()),
        "BENTO_WORKERS": str(workers),
        "BENTO_MAX_BATCH_SIZE": str(settings["max_batch_size"]),
        "BENTO_MAX_LATENCY_MS": str(settings["max_latency_ms"]),
        "BENTOML_DO_NOT_TRACK": "True",
        "BENTOML_HOME": str(BENTOML_VENV / "home"),
    }
    service = f"{PACKAGE}.tools.loadtest.bento_service:Digits"
    command = [str(python), "-m", "bentoml", "serve", service, "--host", "127.0.0.1", "--port", str(port)]
    return running(command, env, port, log)


def summarise_rounds(runs: list[list[dict]], skip_seconds: float) -> dict:
    """`summarise` over several locust runs of one server at one concurrency, each with its own
    warm-up: counts added up, req/s over their measured windows together, latency percentiles over
    every answer kept."""
    parts = [summarise(rows, skip_seconds) for rows in runs]
    kept = []
    for rows in runs:
        first = min(row["start"] for row in rows) + skip_seconds
        kept += [row for row in rows if row["start"] >= first]
    ok = [row["seconds"] for row in kept if 200 <= row["status"] < 300 and row["error"] is None]
    counts = {key: sum(part[key] for part in parts) for key in ("requests", "ok", "errors", "no_answer")}
    counts["server_errors"] = sum(part["server_errors"] for part in parts)
    window = sum(part["ok"] / part["rps"] for part in parts if part["rps"])  # seconds
    rps = round(counts["ok"] / window, 1) if window else 0.0
    return counts | {"rps": rps} | latency_summary(ok or [row["seconds"] for row in kept])


def print_table(rows: list[dict], ratio: dict) -> None:
    """One line per server and concurrency: req/s, p50/p99 (ms), requests, errors, 5xx, and for the
    /api/predict rows their throughput over the best gunicorn row's and over upload-check's, and the
    share of their predictions that went through the micro-batcher."""
    header = f"{'server':<24}{'users':>6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
    header += f"{'requests':>10}{'errors':>8}{'5xx':>6}{'of best':>9}{'of upl.':>9}{'batched':>9}"
    print(header)
    print("-" * len(header))
    for row in rows:
        found = ratio.get(f"{row['server']}@{row['concurrency']}", {})
        shares = "".join(
            f"{found[key]:>9.2f}" if key in found else f"{'':>9}" for key in ("of_best", "of_upload_check")
        )
        print(
            f"{row['server']:<24}{row['concurrency']:>6}{row['rps']:>9.1f}{row['latency_p50_ms']:>9.2f}"
            f"{row['latency_p99_ms']:>9.2f}{row['requests']:>10}{row['errors']:>8}{row['server_errors']:>6}"
            + shares
            + (f"{row['batched']:>9.0%}" if "batched" in row else "")
        )


def ratios(rows: list[dict]) -> dict:
    """Per concurrency: each /api/predict row's throughput over the best of them (`of_best`), over
    upload-check's (`of_upload_check`) and over BentoML's (`of_bentoml`)."""
    by = {(row["server"], row["concurrency"]): row for row in rows}
    best: dict[int, float] = {}
    for (server, users), row in by.items():
        if server.startswith("gunicorn"):
            best[users] = max(best.get(users, 0.0), row["rps"])
    out: dict = {}
    for (server, users), row in by.items():
        if not server.startswith("gunicorn"):
            continue
        found = out.setdefault(f"{server}@{users}", {})
        if best[users]:
            found["of_best"] = round(row["rps"] / best[users], 2)
        for peer, key in (("upload-check", "of_upload_check"), ("bentoml", "of_bentoml")):
            other = by.get((peer, users))
            if other and other["rps"]:
                found[key] = round(row["rps"] / other["rps"], 2)
    return out


def main() -> None:
    settings = load_params()["serve_benchmark"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_model = Path(os.environ.get("MODEL_DIR", BUNDLE_DIR.as_posix()))
    parser.add_argument("--model-dir", type=Path, default=default_model)
    parser.add_argument("--seconds", type=float, default=float(settings["seconds"]))
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(settings["concurrency"]))
    parser.add_argument("--skip-bentoml", action="store_true", help="no BentoML rows (no venv is created)")
    args = parser.parse_args()
    workers, warmup = int(settings["workers"]), float(settings["warmup_seconds"])
    rounds = int(settings.get("rounds", 1))
    max_pixels = int(os.environ.get("MAX_IMAGE_PIXELS", "4000000"))
    rows: list[dict] = []

    def add(server: str, users: int, summary: dict) -> None:
        rows.append({"server": server, "concurrency": users} | summary)
        print(f"  {server} x{users}: {summary['rps']} req/s, {summary['errors']} errors", flush=True)

    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as servers:
        scratch_dir = Path(scratch)
        files = image_files(test_pngs(int(settings["images"])), scratch_dir / "images")
        for users in args.concurrency:
            add("in-process", users, in_process(args.model_dir, files, users, args.seconds, max_pixels))
        # Every server runs from the start; at each concurrency the runs take turns, `rounds` times
        # (each a share of `seconds`, each round in another order), so that a busy moment on a
        # shared machine does not land on one server only.
        targets = []  # (row name, port, path)
        configurations = list(settings["servers"].items())
        # upload-check gets a server of its own (the first configuration): requests of one row do
        # not count towards another row's workers' max_requests (gunicorn.conf.py recycles them).
        for index, (name, extra) in enumerate([*configurations, configurations[0]]):
            row = f"gunicorn {name}" if index < len(configurations) else "upload-check"
            port, instance = free_port(), scratch_dir / f"instance-{index}"
            log = scratch_dir / f"{index}.log"
            servers.enter_context(gunicorn(port, instance, args.model_dir, workers, extra, log))
            targets.append((row, port, "/api/upload-check" if row == "upload-check" else "/api/predict"))
        if not args.skip_bentoml:
            port, bento, log = free_port(), settings["bentoml"], scratch_dir / "bento.log"
            servers.enter_context(bentoml_server(port, args.model_dir, workers, bento, log))
            targets.append(("bentoml", port, "/predict"))
        record, images = scratch_dir / "requests.jsonl", str(scratch_dir / "images")
        turn = args.seconds / rounds

        def load(target: tuple, users: int, seconds: float) -> list[dict]:
            _, port, path = target
            env = {"LOAD_IMAGES": images, "LOAD_PATH": path, "LOAD_FIELD": "image"}
            return run_locust(f"http://127.0.0.1:{port}", users, seconds, record, env)

        # /readyz answers once one worker of a server is up; every worker of every server (and their
        # first requests) must be past their start before any row is measured.
        for target in targets:
            load(target, max(args.concurrency), warmup + 2)
        predicting = [(server, port) for server, port, path in targets if path == "/api/predict"]
        for users in args.concurrency:
            found: dict[str, list[list[dict]]] = {server: [] for server, _, _ in targets}
            before = {server: prediction_paths(port) for server, port in predicting}
            for turn_index in range(rounds):
                shift = turn_index % len(targets)  # each round starts with another server
                for target in targets[shift:] + targets[:shift]:
                    found[target[0]].append(load(target, users, turn + warmup))
            batched = {}  # share of predictions (warm-ups included) that went through the batcher
            for server, port in predicting:
                after = prediction_paths(port)
                counts = {path: after.get(path, 0.0) - before[server].get(path, 0.0) for path in after}
                if total := sum(counts.values()):
                    batched[server] = round(counts.get("batched", 0.0) / total, 3)
            for server, runs in found.items():
                summary = summarise_rounds(runs, skip_seconds=warmup)
                add(server, users, summary | ({"batched": batched[server]} if server in batched else {}))

    report = {
        "rows": rows,
        "ratios": ratios(rows),
        "workers": workers,
        "seconds": args.seconds,
        "rounds": rounds,
        "cpus": os.cpu_count(),
        "host": host.describe(),
        "servers": settings["servers"],
    }
    write_json(SERVE_BENCHMARK_REPORT, report)
    print(f"\nhost: {report['host']}")
    print_table(rows, report["ratios"])
    for key, value in report["ratios"].items():
        print(f"{key}: " + ", ".join(f"{name} x{ratio}" for name, ratio in value.items()))
    print(f"written to {SERVE_BENCHMARK_REPORT}")


if __name__ == "__main__":
    main()
