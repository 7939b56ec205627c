"""App factory: `create_app()` wires config, database, blueprints and the model.

APIFlask is Flask plus request/response schemas declared on each route (serving/api/*.py); the
OpenAPI document at /api/openapi.json and the docs page at /api/docs are generated from them.
"""

import logging
import os
from pathlib import Path

from apiflask import APIFlask
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.routing import IntegerConverter

from ..artifacts import ArtifactError
from ..runtime.golden import GoldenSetError
from ..runtime.selection import read_manifest, verify_model_dir
from ..settings import load_settings
from .auth import SECURITY_SCHEMES, auth_config, init_auth
from .batching import MicroBatcher
from .config import app_config
from .db_models import ModelVersion
from .errors import Error, register_error_handlers
from .extensions import db, migrate
from .registry import LoadedModel, ModelHolder, ServingChoice, local_version, register_version

MIGRATIONS = Path(__file__).with_name("migrations")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# The document's own settings (APIFlask config keys); the docs page's assets are in config.py.
OPENAPI_SETTINGS = {
    "VALIDATION_ERROR_STATUS_CODE": 400,  # this API's status for a malformed request, as before APIFlask
    "VALIDATION_ERROR_SCHEMA": Error,
    "HTTP_ERROR_SCHEMA": Error,
    "SECURITY_SCHEMES": SECURITY_SCHEMES,
    "DESCRIPTION": "Predictions, model versions, annotation and evaluation reports of this project's "
    'model. Errors are JSON `{"error": ..., "detail": ...}` (schema `Error`).',
}
log = logging.getLogger(__name__)


class SignedIntConverter(IntegerConverter):
    """`<int:...>` that also matches negative numbers, so an id that cannot exist (e.g. -1) reaches
    its route and gets that route's documented 404, instead of falling through to the web UI's
    catch-all (GET only: 405)."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, *args, **(kwargs | {"signed": True}))


def create_app(overrides: dict | None = None, load_model: bool = True) -> APIFlask:
    """The app, configured from the environment (settings.py, serving/config.py) and then `overrides`.

    Raises:
        SettingsError: a variable of the environment cannot be used (the message names it).
    """
    settings = load_settings()
    instance = os.path.abspath(settings.INSTANCE_PATH)
    app = APIFlask(
        __name__,
        title="Model serving API",
        version="1.0.0",
        instance_path=instance,
        spec_path="/api/openapi.json",
        docs_path="/api/docs",  # under /api: the frontend's proxy sends /api to this server
    )
    app.url_map.converters["int"] = SignedIntConverter  # before any route is added
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)  # the database (password hashes), secret_key
    app.config.update(OPENAPI_SETTINGS | app_config(settings) | auth_config(settings, Path(instance)))
    app.config.update(overrides or {})
    init_auth(app)  # first of the before-request hooks: who is asking, and may they

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))

    @app.teardown_appcontext  # runs before Flask-SQLAlchemy's own teardown (registered earlier)
    def end_session(_error: BaseException | None) -> None:
        """End what a request left open; a connection the database has dropped (e.g. a restart while
        a prediction held a read) is discarded, instead of turning a finished request into a 500."""
        try:
            db.session.rollback()
        except SQLAlchemyError:
            db.session.invalidate()

    @app.after_request
    def security_headers(response):
        """The headers nginx adds in front of the UI, also on :8000 when the API is reached directly
        (OWASP Secure Headers: no MIME sniffing, no framing, no cross-origin referrer)."""
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    from . import web
    from .api import accounts, annotations, evaluation, health, models, predict, predictions
    from .api.document import finish_document

    for module in (health, predict, models, annotations, predictions, evaluation, accounts, web):
        app.register_blueprint(module.bp)
    register_error_handlers(app)
    app.spec_processor(lambda spec: finish_document(spec, app))
    from .cli import register_cli

    register_cli(app)

    app.extensions["model_holder"] = ModelHolder(
        ServingChoice.from_config(app.config), app.config["MODEL_CHECK_SECONDS"]
    )
    app.extensions["batcher"] = MicroBatcher(
        app.config["BATCH_MAX_SIZE"], app.config["BATCH_MAX_WAIT_MS"] / 1000
    )
    if load_model:
        with app.app_context():
            load_startup_model(app)
    return app


def stay_unready(holder: ModelHolder, error: GoldenSetError) -> None:
    """Keep serving /readyz (503, with the reason) instead of crashing: the reason is the point."""
    holder.failure = str(error)
    log.error("not ready: %s", error)


def load_startup_model(app: APIFlask) -> LoadedModel | None:
    """Load the active version; on an empty database register MODEL_DIR first.

    A missing or corrupt model raises ArtifactError, so the server refuses to start. A model that
    fails its golden-set self-test on this machine (wrong model for its manifest, or kernels that
    misbehave on this CPU) leaves the server up but unready: /readyz answers 503 with the reason
    and predictions answer 503. A database that is down or not migrated yet only degrades the
    server: it serves MODEL_DIR directly and /readyz reports the database problem.
    """
    holder: ModelHolder = app.extensions["model_holder"]
    model_dir = Path(app.config["MODEL_DIR"])
    try:
        if db.session.scalars(select(ModelVersion).limit(1)).first() is None:
            manifest = verify_model_dir(model_dir)
            store, benchmark = Path(app.config["MODEL_STORE"]), Path(app.config["BENCHMARK_FILE"])
            register_version(model_dir, local_version(manifest), store, benchmark)
        else:
            log.info(
                "the database has model versions: serving the active one; MODEL_DIR (%s) is registered "
                "only into an empty database (`flask register-model` adds another version)",
                model_dir,
            )
        return holder.refresh()
    except GoldenSetError as error:
        return stay_unready(holder, error)
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning(
            "database unavailable at startup (%s); serving %s directly", error.__class__.__name__, model_dir
        )
        try:
            engine, selection = holder.choice.load(model_dir)
        except GoldenSetError as golden_error:
            return stay_unready(holder, golden_error)
        except ValueError as pin_error:
            raise ArtifactError(str(pin_error)) from pin_error
        # the load above checked every artifact's sha256; the version name needs only the manifest
        holder.current = LoadedModel(None, local_version(read_manifest(model_dir)), engine, selection)
        return holder.current
