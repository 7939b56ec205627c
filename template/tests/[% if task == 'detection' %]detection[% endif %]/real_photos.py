"""A detection dataset of real photographs, written as COCO JSON, YOLO txt or Pascal VOC XML the
way other tools export them, independently of data/formats.py (so reading them back tests it).

The photos are the two that scikit-learn ships (`sklearn.datasets.load_sample_images`: a pagoda
in Beijing and a dahlia, 640x427 JPEG), boxed by hand in their original pixels (ANNOTATED, COCO
`[x_min, y_min, width, height]`), then turned into what real folders hold: several sizes and
crops (boxes follow the pixels, clipped; a box left with under a third of its area is dropped),
mirrored copies, grey and PNG copies, EXIF-rotated JPEGs (stored pixels turned 90 degrees, the
Orientation tag saying how to display them; boxes refer to the upright image, as CVAT, Label
Studio and Roboflow show and export it), one image without boxes, one box outside its image
(BAD_BOX_IMAGE) and one truncated JPEG (TRUNCATED).

    python -m tests.detection.real_photos OUT_DIR coco|yolo|voc
"""

import io
import json
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image, ImageOps
from sklearn.datasets import load_sample_images

CLASSES = ("flower", "pagoda", "tree")  # the order YOLO's class ids and COCO's ids (1 + index) follow
ANNOTATED = {  # photo -> [(class, [x, y, w, h])] in the 640x427 original
    "china.jpg": [("pagoda", [62.0, 28.0, 312.0, 372.0]), ("tree", [545.0, 135.0, 95.0, 292.0])],
    "flower.jpg": [("flower", [168.0, 84.0, 280.0, 276.0]), ("flower", [286.0, 374.0, 182.0, 53.0])],
}
SCALES = (0.5, 0.75, 1.0, 1.4)
CROPS = ((100, 50, 500, 400), (0, 100, 420, 427))  # (left, top, right, bottom) of the original
EMPTY = ("china.jpg", (390, 0, 640, 120))  # sky: no object in it
BAD_BOX_IMAGE = "china_s050.jpg"
BAD_BOX = [700.0, 10.0, 50.0, 50.0]  # right of a 320-pixel-wide image
TRUNCATED = "flower_truncated.jpg"
MIN_KEPT_AREA = 1 / 3


def photos() -> dict[str, Image.Image]:
    bunch = load_sample_images()
    pairs = zip(bunch.filenames, bunch.images, strict=True)
    return {Path(name).name: Image.fromarray(pixels) for name, pixels in pairs}


def _transform(boxes, scale=1.0, crop=(0, 0, None, None), mirror_width=None):
    """Boxes of the original -> boxes of the cropped, scaled (then mirrored) image."""
    left, top, right, bottom = crop
    out = []
    for name, (x, y, w, h) in boxes:
        x0, y0, x1, y1 = x - left, y - top, x + w - left, y + h - top
        cx0, cy0 = max(x0, 0.0), max(y0, 0.0)
        cx1 = x1 if right is None else min(x1, right - left)
        cy1 = y1 if bottom is None else min(y1, bottom - top)
        if cx1 <= cx0 or cy1 <= cy0 or (cx1 - cx0) * (cy1 - cy0) < MIN_KEPT_AREA * w * h:
            continue
        box = [cx0 * scale, cy0 * scale, (cx1 - cx0) * scale, (cy1 - cy0) * scale]
        if mirror_width is not None:
            box[0] = mirror_width - box[0] - box[2]
        out.append((name, [round(v, 2) for v in box]))
    return out


def items() -> list[tuple[str, Image.Image, list, dict]]:
    """(file name, upright image, boxes, save options) for every image of the dataset, sorted by name."""
    found = []
    for photo_name, photo in photos().items():
        stem, boxes = Path(photo_name).stem, ANNOTATED[photo_name]
        for scale in SCALES:
            size = (round(photo.width * scale), round(photo.height * scale))
            image = photo.resize(size, Image.Resampling.LANCZOS)
            found.append((f"{stem}_s{round(scale * 100):03d}.jpg", image, _transform(boxes, scale), {}))
            mirrored = ImageOps.mirror(image)
            mirrored_boxes = _transform(boxes, scale, mirror_width=size[0])
            found.append((f"{stem}_s{round(scale * 100):03d}_mirror.png", mirrored, mirrored_boxes, {}))
        for index, crop in enumerate(CROPS):
            found.append((f"{stem}_crop{index}.jpg", photo.crop(crop), _transform(boxes, crop=crop), {}))
        found.append((f"{stem}_grey.png", photo.convert("L"), _transform(boxes), {}))
        found.append((f"{stem}_exif_rotated.jpg", photo, _transform(boxes), {"exif_orientation": 6}))
    name, crop = EMPTY
    found.append(("sky_no_boxes.jpg", photos()[name].crop(crop), [], {}))
    return sorted(found, key=lambda item: item[0])


def _save(image: Image.Image, path: Path, options: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if options.get("exif_orientation") == 6:
        exif = Image.Exif()
        exif[0x0112] = 6  # display = stored pixels turned 90 degrees clockwise
        image.transpose(Image.Transpose.ROTATE_90).save(path, quality=90, exif=exif.tobytes())
    else:
        image.save(path, quality=90)


def _truncated(path: Path) -> None:
    buffer = io.BytesIO()
    photos()["flower.jpg"].save(buffer, "JPEG", quality=90)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])


def dataset() -> list[tuple[str, Image.Image, list, dict]]:
    """items() with the bad box added to BAD_BOX_IMAGE."""
    return [
        (name, image, boxes + ([("tree", BAD_BOX)] if name == BAD_BOX_IMAGE else []), options)
        for name, image, boxes, options in items()
    ]


def write_coco(out: Path) -> None:
    """images/<name> and annotations/instances_default.json (CVAT's layout); the truncated JPEG is listed."""
    images, annotations = [], []
    for image_id, (name, image, boxes, options) in enumerate(dataset(), start=1):
        _save(image, out / "images" / name, options)
        images.append({"id": image_id, "file_name": name, "width": image.width, "height": image.height})
        for label, (x, y, w, h) in boxes:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": CLASSES.index(label) + 1,
                    "bbox": [x, y, w, h],
                    "area": round(w * h, 2),
                    "iscrowd": 0,
                }
            )
    _truncated(out / "images" / TRUNCATED)
    images.append({"id": len(images) + 1, "file_name": TRUNCATED, "width": 640, "height": 427})
    categories = [{"id": index + 1, "name": name, "supercategory": ""} for index, name in enumerate(CLASSES)]
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    document = {"images": images, "annotations": annotations, "categories": categories}
    (out / "annotations" / "instances_default.json").write_text(json.dumps(document, indent=1))


def write_yolo(out: Path) -> None:
    """images/, labels/ (`class xc yc w h`, normalised by the upright size, 6 decimals as
    Ultralytics writes them; an empty file for the image without boxes) and data.yaml."""
    for name, image, boxes, options in dataset():
        _save(image, out / "images" / name, options)
        lines = [
            f"{CLASSES.index(label)} {(x + w / 2) / image.width:.6f} {(y + h / 2) / image.height:.6f} "
            f"{w / image.width:.6f} {h / image.height:.6f}"
            for label, (x, y, w, h) in boxes
        ]
        label_file = out / "labels" / f"{Path(name).stem}.txt"
        label_file.parent.mkdir(parents=True, exist_ok=True)
        label_file.write_text("".join(line + "\n" for line in lines))
    _truncated(out / "images" / TRUNCATED)
    names = "".join(f"  {index}: {name}\n" for index, name in enumerate(CLASSES))
    (out / "data.yaml").write_text(f"path: .\ntrain: images\nnames:\n{names}")


def write_voc(out: Path) -> None:
    """JPEGImages/, Annotations/<stem>.xml (corners in pixels with 2 decimals, as CVAT writes them;
    the size is the upright image's) and classes.txt; the truncated JPEG has its XML."""
    entries = [
        (name, image.width, image.height, boxes, options, image) for name, image, boxes, options in dataset()
    ]
    entries.append((TRUNCATED, 640, 427, [], None, None))
    for name, width, height, boxes, options, image in entries:
        if image is None:
            _truncated(out / "JPEGImages" / name)
        else:
            _save(image, out / "JPEGImages" / name, options)
        objects = "".join(
            f"  <object><name>{escape(label)}</name><pose>Unspecified</pose><truncated>0</truncated>"
            f"<difficult>0</difficult><bndbox><xmin>{x:.2f}</xmin><ymin>{y:.2f}</ymin>"
            f"<xmax>{x + w:.2f}</xmax><ymax>{y + h:.2f}</ymax></bndbox></object>\n"
            for label, (x, y, w, h) in boxes
        )
        xml = (
            f"<annotation>\n  <folder>JPEGImages</folder>\n  <filename>{escape(name)}</filename>\n"
            f"  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>\n"
            f"{objects}</annotation>\n"
        )
        (out / "Annotations").mkdir(parents=True, exist_ok=True)
        (out / "Annotations" / f"{Path(name).stem}.xml").write_text(xml)
    (out / "classes.txt").write_text("".join(name + "\n" for name in CLASSES))


WRITERS = {"coco": write_coco, "yolo": write_yolo, "voc": write_voc}

if __name__ == "__main__":
    WRITERS[sys.argv[2]](Path(sys.argv[1]))
