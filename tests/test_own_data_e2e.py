"""A fresh render trains on a user's own photo folder with no edit but `collect.source`.

The folder (the render's own tests/photos.py writes it) holds three classes of varied-size RGB
JPEGs and PNGs, one class name with a space and one with a non-ASCII letter, macOS and Windows
junk, an EXIF-rotated JPEG, a CMYK JPEG, an RGBA PNG, a 16-bit PNG and a truncated JPEG.
"""

import json
import re
import shutil

import pytest
import yaml

from .conftest import PIPELINE_STAGES, render, run_in

pytestmark = pytest.mark.e2e
STAGE_RUN = re.compile(r"Running stage '([a-z_]+)'")


@pytest.fixture(scope="module")
def own_photos(tmp_path_factory):
    """(project, photo folder, first `dvc repro` output): the photos live outside the project."""
    root = tmp_path_factory.mktemp("own-photos")
    project = render(root / "photo-sorter", project_name="Photo Sorter", model_architecture="cnn")
    photos = root / "my photos"
    run_in(project, "python", "-m", "tests.photos", str(photos))
    params_file = project / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["collect"]["source"] = str(photos)
    params["train"].update(epochs=8, batch_size=16)  # ~75 training photos: small batches, enough steps
    params["benchmark"].update(runs=20, warmup=2)
    # ~110 photos: the accuracy is asserted below; latency on a shared CI machine is not the point.
    params["requirements"].update(min_test_accuracy=0.9, max_p99_latency_ms=1000)
    params["distill"]["epochs"] = 3
    params["prune"].update(epochs=1, latency_runs=20)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    first = run_in(project, "dvc", "repro")
    return project, photos, first.stdout


def test_repro_runs_every_stage_on_the_photos(own_photos):
    project, _, output = own_photos
    assert STAGE_RUN.findall(output) == PIPELINE_STAGES
    label_map = json.loads((project / "data" / "label_map.json").read_text(encoding="utf-8"))
    assert label_map["classes"] == ["blåbär", "green", "red stripes"]
    evaluate = json.loads((project / "metrics" / "evaluate.json").read_text())
    assert evaluate["accuracy"] >= 0.9
    print("\nown photos:", json.dumps({"evaluate": evaluate["accuracy"]}))


def test_junk_is_ignored_and_the_truncated_file_is_listed(own_photos):
    project, _, _ = own_photos
    report = json.loads((project / "reports" / "validation.json").read_text(encoding="utf-8"))
    assert [item["path"] for item in report["excluded"]["unreadable"]] == ["green/truncated.jpg"]
    assert report["class_counts"] == {"blåbär": 36, "green": 36, "red stripes": 37}
    assert {"CMYK", "RGBA", "I;16"} <= set(report["mode_histogram"])
    assert report["skipped_files"] == []


def test_status_is_clean_after_repro_and_junk_written_later(own_photos):
    project, photos, _ = own_photos
    (project / "data" / "raw" / "green" / ".DS_Store").write_bytes(b"Finder was here")
    (project / "data" / "raw" / "green" / "Thumbs.db").write_bytes(b"Explorer was here")
    status = run_in(project, "dvc", "status").stdout
    assert "Data and pipelines are up to date" in status, status


def test_a_new_photo_in_the_source_reruns_from_collect(own_photos):
    project, photos, _ = own_photos
    shutil.copy(photos / "green" / "IMG_0002.png", photos / "green" / "IMG_9999.png")
    status = run_in(project, "dvc", "status").stdout
    assert re.search(r"collect:\s+changed deps:\s+modified:\s+\S.*my photos", status), status
