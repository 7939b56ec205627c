"""Memory benchmark: peak RSS of the `train` stage on 2,000 vs 20,000 generated photos.

    python -m <package>.tools.bench_memory   (make bench-memory) [--small 2000] [--large 20000] [--side 256]

Generates `--large` JPEGs of `--side` x `--side` pixels (smooth colour fields with a few shapes, in
4 classes) once, then runs the real train stage (`python -m <package>.stages.train`, this
project's params.yaml with `train.epochs: 1`) on the first `--small` and on all of them, in a scratch
workspace, and reads each run's peak resident set size from the kernel (`os.wait4` ->
`ru_maxrss`). The run uses `data.workers: 0` unless `--workers` says otherwise, so that the one
measured process holds everything the stage allocates (with workers, ru_maxrss is the largest
process, not their sum). A streaming dataset keeps the ratio near 1; the old decode-everything
dataset grew with N (the figure printed as "in-memory tensors").
Writes reports/memory_benchmark.json.
"""

import argparse
import copy
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageDraw

from ..data.label_map import write_label_map
from ..params import PARAMS_FILE, load_params, write_json
from ..paths import LABEL_MAP

REPORT = Path("reports/memory_benchmark.json")
CLASSES = ("circles", "squares", "stripes", "plain")


def generate_photos(folder: Path, count: int, side: int, seed: int = 0) -> list[tuple[str, str]]:
    """Write `count` RGB JPEGs (quality 90) of side x side pixels; returns [(path, class)]."""
    rng = np.random.default_rng(seed)
    rows = []
    ramp = np.linspace(0, 1, side, dtype=np.float32)
    for index in range(count):
        label = CLASSES[index % len(CLASSES)]
        path = folder / label / f"{index:06d}.jpg"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            base = rng.integers(0, 256, size=3)
            field = (np.outer(ramp, ramp)[..., None] * (255 - base) + base).astype(np.uint8)
            image = Image.fromarray(field, "RGB")
            draw = ImageDraw.Draw(image)
            for _ in range(3):
                x, y = (int(v) for v in rng.integers(0, side - side // 4, size=2))
                box = (x, y, x + side // 5, y + side // 5)
                colour = tuple(int(v) for v in rng.integers(0, 256, size=3))
                if label == "circles":
                    draw.ellipse(box, fill=colour)
                elif label == "squares":
                    draw.rectangle(box, fill=colour)
                elif label == "stripes":
                    draw.line((x, 0, x, side), fill=colour, width=side // 16)
            image.save(path, quality=90)
        rows.append((str(path), label))
    return rows


def run_train(workspace: Path, rows: list[tuple[str, str]], params: dict, project: Path) -> dict:
    """Run the train stage on `rows` in `workspace`; returns peak RSS (bytes) and wall time (s)."""
    splits = workspace / "data" / "splits"
    splits.mkdir(parents=True, exist_ok=True)
    validation = rows[::10]
    for name, subset in (("train", rows), ("val", validation)):
        with open(splits / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "label"])
            writer.writerows(subset)
    write_label_map(list(CLASSES), workspace / LABEL_MAP)
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    path = os.pathsep.join([str(project / "src"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", f"{__package__.split('.')[0]}.stages.train"],
        cwd=workspace,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench-memory: the train stage failed on {len(rows)} images:\n{stderr[-2000:]}")
    return {"images": len(rows), "peak_rss_bytes": usage.ru_maxrss * 1024, "seconds": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--side", type=int, default=256, help="generated photo side, pixels")
    parser.add_argument("--workers", type=int, default=0, help="data.workers for the measured runs")
    parser.add_argument("--photos", type=Path, help="keep the generated photos here (reused next time)")
    parser.add_argument("--json", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    project = Path.cwd()
    params = copy.deepcopy(load_params(PARAMS_FILE))
    params["train"]["epochs"] = 1
    params["data"]["workers"] = args.workers
    params["model"]["pretrained"] = False  # memory, not accuracy: no download
    params["model"]["weights_path"] = ""
    with tempfile.TemporaryDirectory() as tmp:
        photos = args.photos or Path(tmp) / "photos"
        side = f"{args.side}x{args.side}"
        print(f"bench-memory: generating {args.large} JPEGs of {side} in {photos} ...", flush=True)
        rows = generate_photos(photos, args.large, args.side)
        disk = sum(Path(path).stat().st_size for path, _ in rows)
        results = []
        for count in (args.small, args.large):
            workspace = Path(tmp) / f"train-{count}"
            workspace.mkdir()
            result = run_train(workspace, rows[:count], params, project)
            size, channels = int(params["data"]["image_size"]), len(str(params["data"]["mode"]))
            result["in_memory_tensors_bytes"] = count * channels * size * size * 4
            results.append(result)
            print(
                f"  {count:>6} images: peak RSS {result['peak_rss_bytes'] / 2**20:8.1f} MiB"
                f" in {result['seconds']} s"
                f" (decoded up front, the float32 tensors alone would be"
                f" {result['in_memory_tensors_bytes'] / 2**20:.1f} MiB at {size}x{size})",
                flush=True,
            )
    small, large = results
    ratio = large["peak_rss_bytes"] / small["peak_rss_bytes"]
    photo_tensors = large["images"] * 3 * 224 * 224 * 4
    print(
        f"  for scale: {large['images']} photos decoded up front at 224x224 RGB (a pretrained backbone's"
        f" input) would hold {photo_tensors / 2**30:.1f} GiB of float32 tensors before training starts"
    )
    report = {
        "side": args.side,
        "photos_bytes_on_disk": disk,
        "architecture": params["model"]["architecture"],
        "image_size": params["data"]["image_size"],
        "workers": args.workers,
        "runs": results,
        "peak_rss_ratio": round(ratio, 3),
        "in_memory_224_rgb_bytes": photo_tensors,
    }
    write_json(args.json, report)
    print(
        f"bench-memory: peak RSS {large['images']} vs {small['images']} images: x{ratio:.3f} "
        f"({large['peak_rss_bytes'] / 2**20:.1f} / {small['peak_rss_bytes'] / 2**20:.1f} MiB); "
        f"{disk / 2**20:.0f} MiB of JPEGs -> {args.json}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
