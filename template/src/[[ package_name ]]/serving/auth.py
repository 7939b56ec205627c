"""Who is asking: the admin token check and the annotator's name (`X-Annotator` header).

Without ADMIN_TOKEN, annotation writes are open (a request without a name is recorded as
`anonymous`), and activating a model, which changes what every user is served, is allowed only to
a loopback client (127.0.0.1 / ::1, e.g. `make serve` and its tests); from any other address, even
this host's own LAN address or a proxy such as the compose frontend, it is refused with 403 until
ADMIN_TOKEN is set.
With ADMIN_TOKEN set, writes need `Authorization: Bearer <ADMIN_TOKEN>`, and annotation writes
also an `X-Annotator` name: there are no anonymous labels on a protected deployment.
"""

import hmac
import re

from apiflask import Schema
from apiflask.fields import String
from apiflask.validators import Regexp
from flask import abort, current_app, request

ANONYMOUS = "anonymous"
ANNOTATOR_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$")
ANNOTATOR_RULE = "1-64 letters, digits, spaces or . _ @ -, starting with a letter or digit"
# OpenAPI `security` of a write: open without ADMIN_TOKEN, a bearer token with it.
OPTIONAL_ADMIN_TOKEN = [{}, {"AdminToken": []}]


class AnnotatorHeader(Schema):
    """The X-Annotator header of the annotation routes (validated before the route runs)."""

    annotator = String(
        data_key="X-Annotator",
        validate=Regexp(ANNOTATOR_PATTERN, error=f"must be {ANNOTATOR_RULE}"),
        metadata={"description": "who is labeling; recorded with every label (required with ADMIN_TOKEN)"},
    )


LOOPBACK = {"127.0.0.1", "::1"}


def require_admin_token(action: str, local_only_without_token: bool = False) -> None:
    """Abort with 401 when ADMIN_TOKEN is set and the request does not carry it; without a token,
    abort with 403 when `local_only_without_token` and the client is not a loopback address.

    The peer address is the socket's (`REMOTE_ADDR`): no forwarded header is trusted for this.
    """
    token = current_app.config["ADMIN_TOKEN"]
    if not token:
        if local_only_without_token and request.remote_addr not in LOOPBACK:
            abort(
                403,
                f"{action} from a non-loopback address needs ADMIN_TOKEN set on the server "
                "and 'Authorization: Bearer <ADMIN_TOKEN>'",
            )
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
        abort(400, f"X-Annotator must be {ANNOTATOR_RULE}")
    return name
