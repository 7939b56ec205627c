"""Stage `package`: the model bundle the server chooses from, models/serve.

One directory per artifact the pipeline built (FP32 ONNX, the CPU INT8, and the TensorRT engines
where the `build_engine` stage made them), each a verified copy with its manifest and golden set,
and one manifest listing them with the runtimes that may run each (runtime/selection.py). The
server, `make serve`, the backend image and a registered model version all take this directory;
which candidate serves is decided on the host that serves (the fastest that passes its golden set
there), not here.
"""

import hashlib
import shutil

from ..artifacts import MANIFEST, verify_manifest
from ..params import write_json
from ..paths import BUNDLE_DIR, INT8_DIR, ONNX_DIR, TENSORRT_DIR
from ..runtime.selection import runtimes_for

# bundle directory name -> (pipeline directory, required)
ARTIFACTS = {
    "fp32": (ONNX_DIR, True),
    "int8": (INT8_DIR, True),
    "tensorrt-fp16": (TENSORRT_DIR / "fp16", False),
    "tensorrt-int8": (TENSORRT_DIR / "int8", False),
}
SHARED_FIELDS = ("classes", "preprocess", "input_name", "architecture", "served_model", "source_checkpoint")


def main() -> None:
    if BUNDLE_DIR.exists():
        shutil.rmtree(BUNDLE_DIR)
    BUNDLE_DIR.mkdir(parents=True)
    candidates, reference = [], None
    for name, (source, required) in ARTIFACTS.items():
        if not (source / MANIFEST).is_file() and not required:
            continue  # no TensorRT engines on this machine (see models/tensorrt/SKIPPED)
        _, manifest = verify_manifest(source)
        reference = reference or manifest
        target = BUNDLE_DIR / name
        shutil.copytree(source, target)
        verify_manifest(target)
        candidates.append(
            {
                "name": name,
                "directory": name,
                "precision": manifest.get("precision", "fp32"),
                "runtimes": runtimes_for(manifest),
                "sha256": manifest["sha256"],
                "size_bytes": manifest["size_bytes"],
                "accuracy": manifest.get("accuracy"),
            }
        )
    digest = hashlib.sha256("".join(c["sha256"] for c in candidates).encode()).hexdigest()
    bundle = {
        "kind": "bundle",
        "sha256": digest,  # of the candidates' checksums: the bundle's identity (version names)
        "size_bytes": sum(c["size_bytes"] for c in candidates),
        "precision": "+".join(c["name"] for c in candidates),
        **{key: reference[key] for key in SHARED_FIELDS if key in reference},
        "accuracy": next((c["accuracy"] for c in candidates if c["name"] == "int8"), None),
        "candidates": candidates,
    }
    write_json(BUNDLE_DIR / MANIFEST, bundle)
    print(f"package: {BUNDLE_DIR} with {', '.join(c['name'] for c in candidates)}")


if __name__ == "__main__":
    main()
