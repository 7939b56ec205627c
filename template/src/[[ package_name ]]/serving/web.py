"""Serve the built web UI (FRONTEND_DIST) at /; client-side routes fall back to index.html."""

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from werkzeug.routing import PathConverter
from werkzeug.security import safe_join

bp = Blueprint("web", __name__)


class WebPathConverter(PathConverter):
    """Any path except /api/...: an API path no route serves is a 404 of the API, and its OPTIONS
    and 405 answers list only the API's own methods, not this catch-all's GET."""

    regex = r"(?!api(?:/|$))[^/].*?"


bp.record_once(lambda state: state.app.url_map.converters.setdefault("web_path", WebPathConverter))


@bp.get("/", defaults={"path": ""})
@bp.get("/<web_path:path>")
def web_ui(path: str):
    dist = Path(current_app.config["FRONTEND_DIST"]).resolve()
    if not (dist / "index.html").is_file():
        abort(404)
    asset = safe_join(str(dist), path) if path else None  # None for any path leaving dist
    if asset and Path(asset).is_file():
        return send_from_directory(dist, path)
    if path.startswith("assets/"):
        abort(404)  # a missing bundle file, not a client-side route
    return send_from_directory(dist, "index.html", max_age=0)
