"""Serving overhead: the same model through gunicorn (HTTP) vs called in-process.

Both sides do the same work per request: decode the PNG, preprocess, run the engine, softmax.
The HTTP side adds Flask, gunicorn, multipart parsing and the loopback network; the ratio of
the two is the server's overhead. Traffic goes to 127.0.0.1 only and the run is bounded.

    python -m <pkg>.serving.benchmark [--requests 400] [--concurrency 4] [--workers 2]
"""

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..data.images import decode_image
from ..data.preprocessing import preprocess
from ..params import write_json
from ..paths import INT8_DIR, SERVE_BENCHMARK_REPORT, SPLITS_DIR
from ..runtime.engines import load_engine
from .config import config_from_env
from .registry import LoadedModel, local_version

REPORT = SERVE_BENCHMARK_REPORT


def sample_png() -> bytes:
    test_csv = SPLITS_DIR / "test.csv"
    if test_csv.exists():
        first_path = test_csv.read_text().splitlines()[1].rsplit(",", 1)[0]
        return Path(first_path).read_bytes()
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (32, 32), 128).save(buffer, format="PNG")
    return buffer.getvalue()


def summarise(latencies: list[float], elapsed: float) -> dict:
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 3),
        "p99_ms": round(float(np.percentile(latencies, 99)) * 1000, 3),
    }


def in_process(model_dir: Path, image: bytes, requests: int) -> dict:
    """The server's own per-request work (decode, preprocess, engine, softmax) without HTTP."""
    engine = load_engine("onnxruntime", model_dir)
    model = LoadedModel(None, local_version(engine.manifest), engine)
    max_pixels = config_from_env("instance")["MAX_IMAGE_PIXELS"]

    def handle() -> None:
        model.probabilities(preprocess(decode_image(image, max_pixels), model.preprocess)[np.newaxis])

    for _ in range(20):
        handle()
    latencies = []
    start = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        handle()
        latencies.append(time.perf_counter() - t0)
    return summarise(latencies, time.perf_counter() - start)


def multipart(image: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def through_gunicorn(port: int, image: bytes, requests: int, concurrency: int) -> dict:
    body, content_type = multipart(image)

    def worker(count: int) -> list[float]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies = []
        for _ in range(count):
            t0 = time.perf_counter()
            connection.request("POST", "/api/predict", body=body, headers={"Content-Type": content_type})
            response = connection.getresponse()
            payload = response.read()
            if response.status != 200:
                raise RuntimeError(f"server answered {response.status}: {payload[:200]!r}")
            latencies.append(time.perf_counter() - t0)
        connection.close()
        return latencies

    worker(20)  # warm up every worker's engine
    share = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = [lat for part in pool.map(worker, share) for lat in part]
    return summarise(latencies, time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_model = Path(os.environ.get("MODEL_DIR", INT8_DIR.as_posix()))
    parser.add_argument("--model-dir", type=Path, default=default_model)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    image = sample_png()

    local = in_process(args.model_dir, image, args.requests)
    port = free_port()
    with tempfile.TemporaryDirectory() as instance:
        env = os.environ | {
            "MODEL_DIR": str(args.model_dir.resolve()),
            "INSTANCE_PATH": instance,
            "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{instance}/bench.db"),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(args.workers),
        }
        package = __package__.rsplit(".", 1)[0]
        flask_app = f"{package}.serving:create_app(load_model=False)"
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", flask_app, "db", "upgrade"],
            env=env,
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "--access-logfile",
                "/dev/null",
                f"{package}.serving.wsgi:app",
            ],
            env=env,
        )
        try:
            wait_ready(port, server)
            served = through_gunicorn(port, image, args.requests, args.concurrency)
        finally:
            server.terminate()
            server.wait(timeout=30)

    ratios = {
        "p50_overhead": round(served["p50_ms"] / local["p50_ms"], 2),
        "p99_overhead": round(served["p99_ms"] / local["p99_ms"], 2),
        "throughput_ratio": round(served["rps"] / local["rps"], 2),
    }
    report = {
        "in_process": local,
        "gunicorn": served,
        "ratios": ratios,
        "workers": args.workers,
        "concurrency": args.concurrency,
    }
    write_json(REPORT, report)
    print(f"{'path':<12}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, row in (("in-process", local), ("gunicorn", served)):
        print(
            f"{name:<12}{row['requests']:>10}{row['rps']:>10.1f}{row['p50_ms']:>10.3f}{row['p99_ms']:>10.3f}"
        )
    print(
        f"server overhead: p50 x{ratios['p50_overhead']}, p99 x{ratios['p99_overhead']}, "
        f"throughput x{ratios['throughput_ratio']} "
        f"({args.workers} gunicorn workers, {args.concurrency} clients, 1 thread in-process)"
    )


if __name__ == "__main__":
    main()
