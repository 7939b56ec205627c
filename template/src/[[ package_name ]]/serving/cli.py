"""`flask` commands: register model versions, queue a folder of images for annotation, and manage
accounts (`flask users create-admin NAME` makes the first one)."""

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from ..data.images import BadImage
from .accounts import AccountError, create_user, issue_token, record_event, set_password
from .annotations_store import add_image
from .db_models import ROLES, User
from .extensions import db
from .registry import register_version


def read_password(from_stdin: bool) -> str:
    """The new password: one line of standard input (scripts, `docker compose exec -T`), or typed twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def make_account(username: str, role: str, from_stdin: bool) -> User:
    try:
        user = create_user(username, read_password(from_stdin), role)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    record_event("cli", "user.create", f"user:{user.id}", username=username, role=role)
    db.session.commit()
    return user


def register_user_commands(app: Flask) -> None:
    users = click.Group("users", help="Accounts: annotators, reviewers, admins (docs/accounts.md).")
    app.cli.add_command(users)
    stdin_option = click.option(
        "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
    )

    @users.command("create-admin")
    @click.argument("username")
    @stdin_option
    def create_admin(username: str, password_stdin: bool):
        """Create an admin account (the first one of a deployment)."""
        user = make_account(username, "admin", password_stdin)
        click.echo(f"created admin {user.username} (id {user.id})")

    @users.command("create")
    @click.argument("username")
    @click.option("--role", type=click.Choice(ROLES), required=True)
    @stdin_option
    def create(username: str, role: str, password_stdin: bool):
        """Create an account with ROLE."""
        user = make_account(username, role, password_stdin)
        click.echo(f"created {role} {user.username} (id {user.id})")

    @users.command("list")
    def list_users():
        """Every account, its role and whether it is active."""
        for user in db.session.scalars(select(User).order_by(User.id)):
            click.echo(f"{user.id}\t{user.username}\t{user.role}\t{'active' if user.active else 'inactive'}")

    @users.command("set-password")
    @click.argument("username")
    @stdin_option
    def reset_password(username: str, password_stdin: bool):
        """Set a new password (ends the account's sessions)."""
        user = find_user(username)
        try:
            set_password(user, read_password(password_stdin))
        except AccountError as error:
            raise click.ClickException(str(error)) from None
        record_event("cli", "user.update", f"user:{user.id}", password_set=True)
        db.session.commit()
        click.echo(f"new password set for {username}")

    @users.command("token")
    @click.argument("username")
    @click.option("--name", default="cli", show_default=True, help="What the token is for.")
    def token(username: str, name: str):
        """Print a new API token for USERNAME (for scripts and CI: `Authorization: Bearer <token>`)."""
        row, value = issue_token(find_user(username), name)
        record_event("cli", "token.create", f"token:{row.id}", name=name, username=username)
        db.session.commit()
        click.echo(value)


def find_user(username: str) -> User:
    user = db.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise click.ClickException(f"no account {username!r}")
    return user


def register_cli(app: Flask) -> None:
    register_user_commands(app)

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
