"""Accounts: argon2id password hashes, bearer tokens, roles, and the append-only audit log.

Passwords are hashed with argon2-cffi's `PasswordHasher` (argon2id, RFC 9106's second recommended
parameter set: 64 MiB, 3 passes), the memory-hard algorithm OWASP's Password Storage Cheat Sheet
puts first. Hashes made with older parameters are re-hashed at the next successful login
(`check_needs_rehash`). Tokens for scripts are `secrets.token_urlsafe(32)` with a `<prefix>_` in front; only
their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from .db_models import ROLES, ApiToken, AuditEvent, User, utcnow
from .extensions import db

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\Z")  # \Z: `$` lets a final newline in
USERNAME_RULE = "1-64 letters, digits or . _ @ -, starting with a letter or digit"
MIN_PASSWORD_LENGTH = 12  # NIST SP 800-63B asks for at least 8; 12 is OWASP's advice for passwords alone
MAX_PASSWORD_LENGTH = 256
TOKEN_PREFIX = "fsml_"
hasher = PasswordHasher()
# Verified against when the username does not exist, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A username, password or role that cannot be used; the message says which and why."""


def role_at_least(role: str, needed: str) -> bool:
    """True when `role` may do what `needed` may (annotator < reviewer < admin)."""
    return ROLES.index(role) >= ROLES.index(needed)


def check_password_rules(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AccountError(f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")


def create_user(username: str, password: str | None, role: str) -> User:
    """Add an account (flushed, not committed). `password=None` makes a single-sign-on-only account.

    Raises:
        AccountError: bad username, password or role, or the username is taken.
    """
    if not USERNAME_PATTERN.match(username):
        raise AccountError(f"username must be {USERNAME_RULE}")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if password is not None:
        check_password_rules(password)
    if db.session.scalars(select(User).where(User.username == username)).first() is not None:
        raise AccountError(f"username {username!r} is taken")
    user = User(
        username=username,
        role=role,
        password_hash=None if password is None else hasher.hash(password),
        active=True,
        auth_version=1,
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Replace the password and end every session of the account (not committed)."""
    check_password_rules(password)
    user.password_hash = hasher.hash(password)
    user.auth_version += 1


def authenticate(username: str, password: str) -> User | None:
    """The active account with this username and password, else None (same cost either way)."""
    user = db.session.scalars(select(User).where(User.username == username)).first()
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.password_hash or not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str, token: str | None = None) -> tuple[ApiToken, str]:
    """A new bearer token for `user`: (row, token). The token is shown once; only its hash is kept.
    `token` lets a test or a secret manager supply the value (at least 32 characters)."""
    token = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    if len(token) < 32:
        raise AccountError("a supplied token has at least 32 characters")
    row = ApiToken(user=user, name=name[:64], token_sha256=token_digest(token))
    db.session.add(row)
    db.session.flush()
    return row, token


def token_for(token: str) -> ApiToken | None:
    """The live token row for a presented token, if its account is active. Reading it writes
    nothing: a read request stays a read (`last_used_at` is set by the writes made with it)."""
    row = db.session.scalars(
        select(ApiToken).where(ApiToken.token_sha256 == token_digest(token), ApiToken.revoked_at.is_(None))
    ).first()
    return row if row is not None and row.user.active else None


def record_event(
    actor: str, action: str, target: str = "", address: str = "", token_id: int | None = None, **detail
) -> AuditEvent:
    """Append one audit event to the session; it is committed with the write it describes. A write
    made with an API token also records the token (`detail.token`) and its `last_used_at`."""
    if token_id is not None:
        detail["token"] = token_id
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))
    event = AuditEvent(
        actor=actor[:64], action=action[:32], target=target[:128], address=address[:64], detail=detail
    )
    db.session.add(event)
    return event
