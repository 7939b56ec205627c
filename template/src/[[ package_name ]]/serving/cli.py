"""`flask` commands: register model versions and queue a folder of images for annotation."""

from pathlib import Path

import click
from flask import Flask, current_app

from ..data.images import BadImage
from .annotations_store import add_image
from .registry import register_version


def register_cli(app: Flask) -> None:
    @app.cli.command("register-model")
    @click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--version", required=True, help="Version name, e.g. v1.2.0 (the git tag)")
    @click.option(
        "--benchmark",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="metrics/benchmark.json to record latency and throughput with the version",
    )
    def register_model(model_dir: Path, version: str, benchmark: Path | None):
        """Verify MODEL_DIR's checksum, copy it into the model store and record it."""
        row = register_version(model_dir, version, Path(current_app.config["MODEL_STORE"]), benchmark)
        click.echo(
            f"registered {row.version} ({row.precision}, sha256 {row.sha256[:12]}), active={row.active}"
        )

    @app.cli.command("import-images")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    def import_images(folder: Path):
        """Queue every image file under FOLDER for annotation, with the active model's suggestion
        (duplicates are skipped)."""
        model = current_app.extensions["model_holder"].refresh()
        added = skipped = 0
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            try:
                _, created = add_image(
                    Path(current_app.config["ANNOTATION_STORAGE"]),
                    path.read_bytes(),
                    path.name,
                    current_app.config["MAX_IMAGE_PIXELS"],
                    model,
                )
            except BadImage as error:
                click.echo(f"skipped {path}: {error}", err=True)
                skipped += 1
                continue
            added += created
        click.echo(f"queued {added} images, skipped {skipped}")
