"""Who is asking, and may they: sessions, bearer tokens, roles, CSRF, login throttling.

Mechanics come from well-kept libraries, none of it is hand-rolled:
- Flask-Login keeps the logged-in account in Flask's signed session cookie (HttpOnly, SameSite=Lax,
  Secure over HTTPS) and loads it per request; `request_loader` takes `Authorization: Bearer <token>`
  for scripts and CI, or AUTH_PROXY_HEADER from a TRUSTED_PROXIES address (single sign-on).
- Flask-WTF's CSRFProtect checks the `X-CSRFToken` header of every unsafe request authenticated by
  the cookie (a bearer token is not sent by a browser on its own, so it needs none).
- Flask-Limiter throttles failed logins per client address (LOGIN_RATE_LIMIT).

Every route is public unless it says otherwise with `@requires(role)`, except that an unsafe method
(POST, PUT, PATCH, DELETE) without `@requires` or `@public` needs an admin: a new write route is
closed until someone decides who may call it. `check_access` runs before every request, before the
request body is even validated, so an anonymous write gets 401 whatever it sends.

With AUTH_REQUIRED=0 (`make serve`), an anonymous request from a loopback address acts as the local
admin `local`; any other address must log in. The address is the socket's (REMOTE_ADDR): no
forwarded header can make a request loopback.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from apiflask import abort as api_abort
from flask import Flask, abort, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_login import AnonymousUserMixin, LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..settings import ServerSettings
from .accounts import record_event, role_at_least, token_for
from .db_models import User
from .extensions import db

log = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "::1"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOCAL_USERNAME = "local"
# OpenAPI security requirements: a bearer token, or the session cookie with its CSRF header.
SIGNED_IN = [{"BearerToken": []}, {"SessionCookie": [], "CsrfHeader": []}]
SECURITY_SCHEMES = {
    "BearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (POST /api/auth/tokens, or `flask users token NAME`)",
    },
    "SessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "Set by POST /api/auth/login (the web UI)",
    },
    "CsrfHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRFToken",
        "description": "`csrf_token` of POST /api/auth/login or GET /api/auth/session; needed with the "
        "cookie on POST, PUT, PATCH and DELETE",
    },
}

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=lambda: client_address(), default_limits=[], headers_enabled=True)


@dataclass(frozen=True)
class LocalAdmin:
    """The one person at this host's keyboard when AUTH_REQUIRED=0 (not an account in the database)."""

    username: str = LOCAL_USERNAME
    role: str = "admin"
    id: int = 0
    active: bool = True
    is_authenticated: bool = True

    def as_dict(self) -> dict:
        return {"id": 0, "username": self.username, "role": self.role, "active": True, "created_at": None}


class Anonymous(AnonymousUserMixin):
    username = None
    role = None


def requires(role: str, only_if: str | None = None) -> Callable:
    """Mark a view as needing an account with at least `role` (annotator < reviewer < admin);
    with `only_if`, only while that Flask config key is true (e.g. PREDICT_REQUIRES_LOGIN).
    The check itself is `check_access`, before the request is read."""

    def mark(view: Callable) -> Callable:
        view.required_role = role
        view.required_only_if = only_if
        return view

    return mark


def public(view: Callable) -> Callable:
    """Mark an unsafe-method view as open to anyone (login, predictions, the upload check)."""
    view.required_role = None
    view.required_only_if = None
    return view


def required_role(view: Callable | None, method: str, config) -> str | None:
    """The role a request to `view` with `method` needs under `config`, or None."""
    if view is None:
        return None
    if not hasattr(view, "required_role"):
        return None if method in SAFE_METHODS else "admin"
    only_if = getattr(view, "required_only_if", None)
    if only_if and not config[only_if]:
        return None
    return view.required_role


def client_address() -> str:
    """The client's address: the socket's, or X-Forwarded-For's last hop not in TRUSTED_PROXIES
    when the socket's is a trusted proxy (the rate limiter's key and the audit log's address)."""
    address = request.remote_addr or ""
    proxies = current_app.config["TRUSTED_PROXIES"]
    forwarded = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    while forwarded and is_trusted(address, proxies):
        address = forwarded.pop()
    return address


def is_trusted(address: str, proxies: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


LOOPBACK_HOST = re.compile(r"(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?\Z")  # Host or Origin's host[:port]
FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Host")


def is_loopback() -> bool:
    return request.remote_addr in LOOPBACK


def is_local_person() -> bool:
    """A request from the person at this machine, for AUTH_REQUIRED=0: from a loopback socket,
    addressed to a loopback name, and not forwarded by a proxy.

    The socket alone is not enough: a reverse proxy or tunnel on this host makes every client
    loopback (hence no forwarding headers), and a page whose DNS name is rebound to 127.0.0.1
    reaches the server from the user's own browser (hence the Host check: its Host is its own name).
    """
    if not is_loopback() or not LOOPBACK_HOST.match(request.host.lower()):
        return False
    return not any(header in request.headers for header in FORWARDING_HEADERS)


def account():
    """The account this request acts as: a `User`, `LocalAdmin`, or None (anonymous)."""
    user = current_user._get_current_object()
    if getattr(user, "is_authenticated", False):
        return user
    if not current_app.config["AUTH_REQUIRED"] and is_local_person():
        return LocalAdmin()
    return None


def actor_name() -> str:
    user = account()
    return user.username if user is not None else "anonymous"


def audit(action: str, target: str = "", **detail) -> None:
    """Record this request's write in the audit log (committed with the write)."""
    record_event(actor_name(), action, target, client_address(), g.get("token_id"), **detail)


def check_access() -> None:
    """before_request: 401 without an account, 403 below the needed role or without a CSRF token."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    role = required_role(view, request.method, current_app.config)
    if role is None:
        return
    user = account()
    if user is None:
        if current_app.config["AUTH_REQUIRED"]:
            unauthorized("log in first (POST /api/auth/login), or send 'Authorization: Bearer <token>'")
        unauthorized("this server is open only to its own host (AUTH_REQUIRED=0): log in from elsewhere")
    if not role_at_least(user.role, role):
        abort(403, f"needs the {role} role; {user.username} is {user.role}")
    if request.method in SAFE_METHODS:
        return
    method = g.get("auth_method")
    if method in ("session", "proxy"):  # what a browser sends by itself: the cookie, the proxy's login
        try:
            csrf.protect()
        except CSRFError as error:
            abort(403, f"CSRF check failed: {error.description} (send the X-CSRFToken header)")
    elif isinstance(user, LocalAdmin) and not same_origin():
        # A web page on another site can make the local user's browser post to 127.0.0.1; scripts
        # send no Origin. (OWASP CSRF Prevention Cheat Sheet: verifying origin with standard headers.)
        abort(403, "a cross-site request to the open local server (AUTH_REQUIRED=0) is refused")


def unauthorized(message: str) -> None:
    """401 with the challenge RFC 9110 asks for."""
    api_abort(401, message, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def same_origin() -> bool:
    """False when the browser says the request comes from a page that is not on this machine
    (`Sec-Fetch-Site: cross-site`, or an `Origin` whose host is not a loopback name: the web UI on
    :8000, or Vite's dev server on :5173, are); True when nothing says so (scripts send no Origin)."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    scheme, _, host = origin.lower().partition("://")
    return scheme in ("http", "https") and LOOPBACK_HOST.match(host) is not None


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session, Secure whenever the request came over HTTPS unless
    SESSION_COOKIE_SECURE says otherwise."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = app.config["SESSION_COOKIE_SECURE_SETTING"]
        return came_over_https() if configured is None else configured


def came_over_https() -> bool:
    """HTTPS to this server, or to a TRUSTED_PROXIES proxy that says so in X-Forwarded-Proto."""
    if request.is_secure:
        return True
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
    return forwarded == "https" and is_trusted(
        request.remote_addr or "", current_app.config["TRUSTED_PROXIES"]
    )


def secret_key(settings: ServerSettings, instance: Path) -> str:
    """SECRET_KEY, or one generated once into <instance>/secret_key (0600) and shared by the workers."""
    if settings.SECRET_KEY:
        return settings.SECRET_KEY
    path = instance / "secret_key"
    if not path.exists():
        # Written whole under a private name, then linked into place: link() fails if another process
        # got there first, and nobody ever reads half a key. The first process's key is everyone's.
        draft = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def auth_config(settings: ServerSettings, instance: Path) -> dict:
    return {
        "SECRET_KEY": secret_key(settings, instance),
        "AUTH_REQUIRED": settings.AUTH_REQUIRED,
        "PREDICT_REQUIRES_LOGIN": settings.PREDICT_REQUIRES_LOGIN,
        "AUTH_PROXY_HEADER": settings.AUTH_PROXY_HEADER,
        "TRUSTED_PROXIES": settings.trusted_proxies(),
        "LOGIN_RATE_LIMIT": settings.LOGIN_RATE_LIMIT,
        "RATELIMIT_STORAGE_URI": settings.RATELIMIT_STORAGE_URI,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE_SETTING": settings.SESSION_COOKIE_SECURE,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=settings.SESSION_HOURS),
        "WTF_CSRF_CHECK_DEFAULT": False,  # check_access decides which requests are checked
        "WTF_CSRF_TIME_LIMIT": None,  # as long as the session
    }


@login_manager.user_loader
def load_session_user(key: str) -> User | None:
    """The session's account: `<id>:<auth_version>` (a password change or deactivation ends it)."""
    if request.headers.get("Authorization"):
        return None  # a request with a token is judged by its token alone
    user_id, _, version = key.partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or str(user.auth_version) != version:
        return None
    g.auth_method = "session"
    return user


@login_manager.request_loader
def load_request_user(_request) -> User | None:
    """A bearer token; else the single-sign-on header from a trusted proxy."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        row = token_for(token.strip())
        if row is None:
            return None
        g.auth_method, g.token_id = "token", row.id
        return row.user
    name_header = current_app.config["AUTH_PROXY_HEADER"]
    if name_header and request.headers.get(name_header):
        if not is_trusted(request.remote_addr or "", current_app.config["TRUSTED_PROXIES"]):
            return None  # anyone can send the header; only the proxy's copy counts
        from sqlalchemy import select

        name = request.headers[name_header].strip()
        user = db.session.scalars(select(User).where(User.username == name)).first()
        if user is not None and user.active:
            g.auth_method = "proxy"
            return user
    return None


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    csrf.init_app(app)
    limiter.init_app(app)
    app.session_interface = CookieSessions()
    app.before_request(check_access)
    if not app.config["AUTH_REQUIRED"]:
        log.warning(
            "AUTH_REQUIRED=0: anonymous requests from this host (127.0.0.1, ::1) act as the admin "
            "'%s'; every other client must log in. Set AUTH_REQUIRED=1 before sharing this server.",
            LOCAL_USERNAME,
        )
