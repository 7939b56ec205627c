"""Who is asking: the admin token check and the annotator's name (`X-Annotator` header).

Without ADMIN_TOKEN anyone may write, and a request without a name is recorded as `anonymous`.
With ADMIN_TOKEN set, writes need `Authorization: Bearer <ADMIN_TOKEN>`, and annotation writes
also an `X-Annotator` name: there are no anonymous labels on a protected deployment.
"""

import hmac
import re

from flask import abort, current_app, request

ANONYMOUS = "anonymous"
ANNOTATOR_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$")


def require_admin_token(action: str) -> None:
    token = current_app.config["ADMIN_TOKEN"]
    if not token:
        return
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(supplied.encode(), token.encode()):
        abort(401, f"{action} needs 'Authorization: Bearer <ADMIN_TOKEN>'")


def annotator(write: bool = False) -> str:
    """The annotator's name from X-Annotator; for writes, also enforces ADMIN_TOKEN."""
    if write:
        require_admin_token("changing annotations")
    name = request.headers.get("X-Annotator", "").strip()
    if not name:
        if write and current_app.config["ADMIN_TOKEN"]:
            abort(401, "annotation writes need an X-Annotator name on this server")
        return ANONYMOUS
    if not ANNOTATOR_PATTERN.match(name):
        abort(
            400,
            "X-Annotator must be 1-64 letters, digits, spaces or . _ @ -, starting with a letter or digit",
        )
    return name
