"""Accounts: log in and out, the session and its CSRF token, API tokens, password change; for admins,
the accounts themselves and the audit log."""

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, Integer, List, Nested, Raw, String
from apiflask.validators import Length, Range, Regexp
from flask import abort, current_app, session
from flask_login import login_user, logout_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select, update

from ..accounts import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    USERNAME_PATTERN,
    USERNAME_RULE,
    AccountError,
    authenticate,
    create_user,
    issue_token,
    record_event,
    set_password,
)
from ..auth import LOCAL_USERNAME, account, audit, client_address, limiter, public, requires
from ..db_models import MAX_ID, ROLES, ApiToken, AuditEvent, User, utcnow
from ..extensions import db
from . import LIMIT, JSONBoolean, choice

bp = APIBlueprint("accounts", __name__, url_prefix="/api", tag="Accounts")
PASSWORD = Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)


class Account(Schema):
    id = Integer(required=True, metadata={"description": "0 for the local admin of AUTH_REQUIRED=0"})
    username = String(required=True)
    role = String(required=True, metadata={"enum": list(ROLES)})
    active = Boolean(required=True)
    created_at = String(required=True, allow_none=True, metadata={"format": "date-time"})


class SessionState(Schema):
    user = Nested(Account, required=True, allow_none=True, metadata={"description": "null: not logged in"})
    csrf_token = String(required=True, metadata={"description": "send as X-CSRFToken on writes"})
    auth_required = Boolean(required=True, metadata={"description": "false: this host may write anonymously"})


USERNAME = Regexp(USERNAME_PATTERN, error=f"must be {USERNAME_RULE}")
TOKEN_NAME = Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9 ._@:/-]{0,63}\Z", error="must be 1-64 letters, digits, spaces or ._@:/-"
)


class LoginRequest(Schema):
    username = String(required=True, validate=USERNAME)
    password = String(required=True, validate=Length(1, MAX_PASSWORD_LENGTH))


class PasswordChange(Schema):
    current_password = String(required=True, validate=Length(1, MAX_PASSWORD_LENGTH))
    new_password = String(required=True, validate=PASSWORD)


class TokenRequest(Schema):
    name = String(required=True, validate=TOKEN_NAME, metadata={"description": "what it is for, e.g. ci"})


class Token(Schema):
    id = Integer(required=True)
    name = String(required=True)
    created_at = String(required=True, metadata={"format": "date-time"})
    last_used_at = String(
        required=True,
        allow_none=True,
        metadata={"format": "date-time", "description": "last write made with it"},
    )
    revoked_at = String(required=True, allow_none=True, metadata={"format": "date-time"})


class NewToken(Token):
    token = String(required=True, metadata={"description": "shown once: only its SHA-256 is kept"})


class TokenList(Schema):
    tokens = List(Nested(Token), required=True)


class UserList(Schema):
    users = List(Nested(Account), required=True)


class NewUser(Schema):
    username = String(required=True, validate=USERNAME)
    password = String(required=True, validate=PASSWORD)
    role = String(required=True, validate=choice(ROLES))


class UserChange(Schema):
    role = String(validate=choice(ROLES))
    active = JSONBoolean(metadata={"description": "false ends the account's sessions and tokens"})
    password = String(validate=PASSWORD, metadata={"description": "a new password; ends its sessions"})


class AuditEntry(Schema):
    id = Integer(required=True)
    created_at = String(required=True, metadata={"format": "date-time"})
    actor = String(required=True)
    action = String(required=True)
    target = String(required=True)
    address = String(required=True)
    detail = Dict(keys=String(), values=Raw(), required=True)


class AuditPage(Schema):
    events = List(Nested(AuditEntry), required=True, metadata={"description": "newest first"})


class AuditQuery(Schema):
    limit = Integer(load_default=100, validate=LIMIT)
    before = Integer(validate=Range(1, MAX_ID), metadata={"description": "events older than this id"})
    actor = String(validate=USERNAME, metadata={"description": "an account, `cli` or `anonymous`"})


def session_state() -> dict:
    user = account()
    return {
        "user": user.as_dict() if user is not None else None,
        "csrf_token": generate_csrf(),
        "auth_required": current_app.config["AUTH_REQUIRED"],
    }


@bp.get("/auth/session")
@bp.output(SessionState)
def get_session():
    """Who this request is logged in as, and the CSRF token for writes with the session cookie"""
    return session_state()


@bp.post("/auth/login")
@public
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    deduct_when=lambda response: response.status_code == 401,
    error_message="too many failed logins from this address; wait and try again",
)
@bp.input(LoginRequest, location="json")
@bp.output(SessionState)
@bp.doc(
    security=[],
    responses={
        401: "Wrong username or password, or the account is deactivated",
        429: "Too many failed logins from this address (LOGIN_RATE_LIMIT)",
    },
)
def login(json_data):
    """Log in: sets the session cookie (HttpOnly, SameSite=Lax) and returns the CSRF token"""
    user = authenticate(json_data["username"], json_data["password"])
    if user is None:
        record_event(json_data["username"], "login.failed", address=client_address())
        db.session.commit()
        abort(401, "wrong username or password")
    login_user(user)
    session.permanent = True  # the cookie lasts SESSION_HOURS (the server refuses it after that anyway)
    record_event(user.username, "login", f"user:{user.id}", client_address())
    db.session.commit()
    return session_state()


@bp.post("/auth/logout")
@requires("annotator")
@bp.output({}, status_code=204)
def logout():
    """Log out: ends every session of the account, on every device (its API tokens stay valid)

    Sessions live in signed cookies, so a copy of this one would stay valid until it expires; the
    account's `auth_version`, part of every session, is bumped instead, which ends them all.
    """
    user = account()
    if isinstance(user, User):
        user.auth_version += 1
    audit("logout")
    db.session.commit()
    logout_user()
    return ""


@bp.put("/auth/password")
@requires("annotator")
@bp.input(PasswordChange, location="json")
@bp.output({}, status_code=204)
@bp.doc(responses={400: "The new password is too short or too long", 409: "Wrong current password"})
def change_password(json_data):
    """Change your own password; every other session of yours ends"""
    user = own_account()
    if authenticate(user.username, json_data["current_password"]) is None:
        abort(409, "the current password is wrong")
    set_password(user, json_data["new_password"])
    audit("password.change", f"user:{user.id}")
    db.session.commit()
    login_user(user)  # this session goes on with the new auth_version
    return ""


def own_account() -> User:
    user = account()
    if not isinstance(user, User):
        abort(409, f"'{LOCAL_USERNAME}' (AUTH_REQUIRED=0) is not an account: create one with flask users")
    return user


@bp.get("/auth/tokens")
@requires("annotator")
@bp.output(TokenList)
def list_tokens():
    """Your API tokens (without their secrets)"""
    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == own_account().id).order_by(ApiToken.id)
    )
    return {"tokens": [row.as_dict() for row in rows]}


@bp.post("/auth/tokens")
@requires("annotator")
@bp.input(TokenRequest, location="json")
@bp.output(NewToken, status_code=201)
def create_token(json_data):
    """A new API token for scripts and CI, with your role (`Authorization: Bearer <token>`)"""
    row, token = issue_token(own_account(), json_data["name"])
    audit("token.create", f"token:{row.id}", name=row.name)
    db.session.commit()
    return row.as_dict() | {"token": token}, 201


@bp.delete("/auth/tokens/<int:token_id>")
@requires("annotator")
@bp.output({}, status_code=204)
@bp.doc(responses={404: "No such token of yours"})
def revoke_token(token_id: int):
    """Revoke one of your API tokens"""
    row = db.session.get(ApiToken, token_id) if 0 < token_id <= MAX_ID else None
    if row is None or row.user_id != own_account().id:
        abort(404, f"you have no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit("token.revoke", f"token:{row.id}")
        db.session.commit()
    return ""


@bp.get("/users")
@requires("admin")
@bp.output(UserList)
def list_users():
    """Every account"""
    return {"users": [user.as_dict() for user in db.session.scalars(select(User).order_by(User.id))]}


@bp.post("/users")
@requires("admin")
@bp.input(NewUser, location="json")
@bp.output(Account, status_code=201)
@bp.doc(responses={409: "The username is taken"})
def add_user(json_data):
    """Create an account"""
    try:
        user = create_user(json_data["username"], json_data["password"], json_data["role"])
    except AccountError as error:
        abort(409, str(error))
    audit("user.create", f"user:{user.id}", username=user.username, role=user.role)
    db.session.commit()
    return user.as_dict(), 201


@bp.patch("/users/<int:user_id>")
@requires("admin")
@bp.input(UserChange, location="json")
@bp.output(Account)
@bp.doc(responses={404: "No such account", 409: "The change would leave no active admin"})
def change_user(user_id: int, json_data):
    """Change an account's role, deactivate or reactivate it, or set a new password"""
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None:
        abort(404, f"no account {user_id}")
    if "role" in json_data:
        user.role = json_data["role"]
    if "active" in json_data and json_data["active"] != user.active:
        user.active = json_data["active"]
        user.auth_version += 1  # its sessions end
        if not user.active:  # and its tokens, for good: reactivating does not bring them back
            db.session.execute(
                update(ApiToken)
                .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
    if "password" in json_data:
        set_password(user, json_data["password"])
    db.session.flush()
    admins = db.session.scalars(select(User).where(User.role == "admin", User.active.is_(True))).first()
    if admins is None:
        db.session.rollback()
        abort(409, "that would leave no active admin")
    changes = {key: value for key, value in json_data.items() if key != "password"}
    audit("user.update", f"user:{user.id}", **changes, password_set="password" in json_data)
    db.session.commit()
    return user.as_dict()


@bp.get("/audit")
@requires("admin")
@bp.input(AuditQuery, location="query")
@bp.output(AuditPage)
def list_audit(query_data):
    """The audit log: every write, who made it, when, from where (append-only)"""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(query_data["limit"])
    if "before" in query_data:
        query = query.where(AuditEvent.id < query_data["before"])
    if "actor" in query_data:
        query = query.where(AuditEvent.actor == query_data["actor"])
    return {"events": [event.as_dict() for event in db.session.scalars(query)]}
