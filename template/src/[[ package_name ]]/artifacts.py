"""Model artifacts with checksums: every exported model directory holds `manifest.json`.

The manifest names the model file, its sha256 and size, the class list and the preprocessing
settings. Loaders call `verify_manifest` and refuse to use a file whose checksum does not match.
No torch import here: the serving image uses this module without PyTorch.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


class ArtifactError(RuntimeError):
    """A model artifact is missing, unreadable or does not match its manifest."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(model_path: Path, **fields: Any) -> dict[str, Any]:
    manifest = {
        "file": model_path.name,
        "sha256": sha256_file(model_path),
        "size_bytes": model_path.stat().st_size,
        **fields,
    }
    (model_path.parent / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def verify_manifest(model_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Return (model file, manifest) after checking the file's sha256 against the manifest."""
    manifest_path = Path(model_dir) / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"no {MANIFEST} in {model_dir}: run the pipeline (`dvc repro`) or `dvc pull`")
    try:
        manifest = json.loads(manifest_path.read_text())
        model_path = Path(model_dir) / Path(manifest["file"]).name
        expected = manifest["sha256"]
    except (ValueError, KeyError, TypeError) as error:
        raise ArtifactError(f"{manifest_path} is not a valid manifest: {error}") from error
    if not model_path.is_file():
        raise ArtifactError(f"model file {model_path} named in {manifest_path} is missing")
    actual = sha256_file(model_path)
    if actual != expected:
        raise ArtifactError(
            f"checksum mismatch for {model_path}: manifest says {expected[:12]}…, file is {actual[:12]}…; "
            "the file is corrupt or was modified, restore it with `dvc checkout`"
        )
    return model_path, manifest
