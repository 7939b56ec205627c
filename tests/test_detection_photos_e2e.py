"""A fresh detection render runs `dvc repro` (collect -> check) on a COCO folder of real photos with
no edit but params.yaml, lists what is wrong in it, and YOLO and Pascal VOC copies of the same
photos give the same training set.

The photos and their boxes come from the render's own tests/detection/real_photos.py: scikit-learn's
two sample photographs, boxed by hand, in several sizes and crops, mirrored, grey, EXIF-rotated,
one without boxes, one box outside its image and one truncated JPEG, each format written as the
tools that export it write it (CVAT's COCO layout, Ultralytics' YOLO txt, CVAT's VOC XML).
"""

import json
import re
from pathlib import Path

import pytest
import yaml

from .conftest import defined_stages, render, run_in

pytestmark = pytest.mark.e2e
STAGE_RUN = re.compile(r"Running stage '([a-z_]+)'")
PROBLEMS = {  # what each format must list: the truncated JPEG and the box outside its image
    "coco": {"images/flower_truncated.jpg", "annotations/instances_default.json"},
    "yolo": {"images/flower_truncated.jpg", "labels/china_s050.txt"},
    "voc": {"JPEGImages/flower_truncated.jpg", "Annotations/china_s050.xml"},
}


def set_params(project: Path, **sections: dict) -> None:
    params_file = project / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    for section, values in sections.items():
        params[section].update(values)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))


def training_set(project: Path) -> dict:
    """What validate and split made of data/raw: {split: {image base name: (size, sorted (class, box))}}."""
    out = {}
    for split in ("train", "val", "test"):
        coco = json.loads((project / "data" / "splits" / f"{split}.json").read_text())
        names = {category["id"]: category["name"] for category in coco["categories"]}
        images = {
            image["id"]: (Path(image["file_name"]).name, (image["width"], image["height"]))
            for image in coco["images"]
        }
        boxes = {image_id: [] for image_id in images}
        for annotation in coco["annotations"]:
            boxes[annotation["image_id"]].append(
                (names[annotation["category_id"]], tuple(round(value, 2) for value in annotation["bbox"]))
            )
        out[split] = {images[key][0]: (images[key][1], sorted(boxes[key])) for key in images}
    return out


def same_training_set(found: dict, expected: dict, tolerance_px: float = 0.01) -> bool:
    """Same images in each split, same sizes, same classes, boxes within `tolerance_px` (YOLO's
    6-decimal normalised numbers come back within a thousandth of a pixel)."""
    for split, images in expected.items():
        if set(found[split]) != set(images):
            return False
        for name, (size, boxes) in images.items():
            other_size, other_boxes = found[split][name]
            if other_size != size or [label for label, _ in other_boxes] != [label for label, _ in boxes]:
                return False
            for (_, box), (_, other) in zip(boxes, other_boxes, strict=True):
                if max(abs(a - b) for a, b in zip(box, other, strict=True)) > tolerance_px:
                    return False
    return True


@pytest.fixture(scope="module")
def photos_project(tmp_path_factory):
    """(project, {format: folder}, the first `dvc repro` output, the COCO run's training set)."""
    root = tmp_path_factory.mktemp("real-photos")
    project = render(root / "landmarks", project_name="Landmarks", task="detection")
    folders = {fmt: root / f"photos-{fmt}" for fmt in PROBLEMS}
    for fmt, folder in folders.items():
        run_in(project, "python", "-m", "tests.detection.real_photos", str(folder), fmt)
    # Plumbing on 25 photos, not accuracy: one epoch, a short benchmark, no accuracy budgets. The
    # two bad items are 2 of 73 things read (25 images, 46 boxes, 2 problems): over the default 1 %.
    set_params(
        project,
        collect={"source": str(folders["coco"])},
        data={"mode": "RGB", "max_excluded_fraction": 0.05},
        train={"epochs": 1},
        quantize={"calibration_samples": 4},
        benchmark={"runs": 10, "warmup": 2},
        requirements={"min_map50": 0.0, "max_int8_map50_drop": 1.0, "max_p99_latency_ms": 10000},
    )
    output = run_in(project, "dvc", "repro", timeout=1800).stdout
    return project, folders, output, training_set(project)


def test_repro_runs_every_stage_on_the_coco_photos(photos_project):
    project, _, output, _ = photos_project
    stages = defined_stages("detection")  # in dvc.yaml's order; check runs last (it reads the benchmark)
    assert STAGE_RUN.findall(output) == [*(stage for stage in stages if stage != "check"), "check"]
    budgets = json.loads((project / "metrics" / "check.json").read_text())
    assert budgets, "check measured the budgets"
    assert all(budget["passed"] for budget in budgets.values())
    assert run_in(project, "git", "diff", "--name-only", "dvc.yaml").stdout == ""


def test_validation_lists_the_truncated_photo_and_the_bad_box_and_keeps_the_rest(photos_project):
    project, _, _, split = photos_project
    report = json.loads((project / "reports" / "validation.json").read_text())
    listed = {problem["file"] for problem in report["problems"]}
    assert listed == PROBLEMS["coco"]
    assert report["problem_kinds"] == {"unreadable_image": 1, "box_outside": 1}
    assert any("truncated" in problem["reason"] for problem in report["problems"])
    kept = {name: entry for part in split.values() for name, entry in part.items()}
    assert len(kept) == 25, "the 26 photos less the truncated one (the one without boxes is kept)"
    assert kept["sky_no_boxes.jpg"][1] == [], "an image without boxes is kept"
    assert "flower_truncated.jpg" not in kept
    assert len(kept["china_s050.jpg"][1]) == 2, "the bad box is dropped, the photo and its good boxes kept"
    # the EXIF-rotated JPEG's boxes are those of the upright photo, as annotated
    assert kept["china_exif_rotated.jpg"] == kept["china_s100.jpg"]


@pytest.mark.parametrize("fmt", ["yolo", "voc"])
def test_a_yolo_or_voc_copy_of_the_photos_gives_the_same_training_set(photos_project, fmt):
    project, folders, _, coco_split = photos_project
    set_params(project, collect={"source": str(folders[fmt])})
    run_in(project, "dvc", "repro", "split")
    report = json.loads((project / "reports" / "validation.json").read_text())
    assert {problem["file"] for problem in report["problems"]} == PROBLEMS[fmt]
    assert same_training_set(training_set(project), coco_split)
