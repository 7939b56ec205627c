"""Serve the built web UI (FRONTEND_DIST) at /; client-side routes fall back to index.html."""

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from werkzeug.security import safe_join

bp = Blueprint("web", __name__)


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def web_ui(path: str):
    dist = Path(current_app.config["FRONTEND_DIST"]).resolve()
    if path.startswith("api/") or not (dist / "index.html").is_file():
        abort(404)
    asset = safe_join(str(dist), path) if path else None  # None for any path leaving dist
    if asset and Path(asset).is_file():
        return send_from_directory(dist, path)
    if path.startswith("assets/"):
        abort(404)  # a missing bundle file, not a client-side route
    return send_from_directory(dist, "index.html", max_age=0)
