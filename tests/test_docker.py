"""The generated Dockerfiles and compose.yaml, for real: hadolint (HEALTHCHECK required), compose
validation per database, then on a local Docker engine the backend and frontend images are built
(on stand-in base images from scripts/build_standin_images.sh), started with the project's own
compose.yaml, and a prediction goes through the frontend's /api proxy."""

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
import yaml

from .conftest import TEMPLATE, project_env, render, reproduce_for_plumbing, run_in
from .databases import free_port

pytestmark = pytest.mark.e2e
ARTIFACTS = TEMPLATE / "test-artifacts"


def docker(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="session")
def docker_engine():
    """The machine's Docker engine; dockerd is started here when it is not running."""
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        log = open("/tmp/fullstack-ml-dockerd.log", "ab")  # noqa: SIM115 (lives as long as dockerd)
        subprocess.Popen(
            ["dockerd", "--storage-driver=overlay2"], stdout=log, stderr=log, start_new_session=True
        )
        for _ in range(60):
            if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
                break
            time.sleep(1)
        else:
            pytest.fail("dockerd did not start; see /tmp/fullstack-ml-dockerd.log")
    subprocess.run(
        ["bash", str(TEMPLATE / "scripts" / "build_standin_images.sh")],
        check=True,
        capture_output=True,
        timeout=1200,
    )


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {"database": "postgresql", "include_frontend": False},
        {"database": "mariadb"},
        {"database": "mysql"},
    ],
    ids=["sqlite", "postgresql-no-frontend", "mariadb", "mysql"],
)
def test_dockerfiles_pass_hadolint_and_compose_file_is_valid(tmp_path, answers, docker_engine):
    project = render(tmp_path / "project", **answers)
    dockerfiles = sorted(p.name for p in (project / "docker").glob("*.Dockerfile"))
    expected = ["backend.Dockerfile", "train.Dockerfile"]
    assert dockerfiles == sorted(
        expected + (["frontend.Dockerfile"] if answers.get("include_frontend", True) else [])
    )
    run_in(project, "make", "docker-lint")
    # The config really enforces HEALTHCHECK: a Dockerfile without one fails.
    (project / "docker" / "nohealth.Dockerfile").write_text("FROM python:3.11-slim-bookworm\nUSER 1000\n")
    missing = subprocess.run(
        ["hadolint", "docker/nohealth.Dockerfile"],
        cwd=project,
        capture_output=True,
        text=True,
        env=project_env(project),
    )
    assert missing.returncode != 0
    assert "DL3057" in missing.stdout
    config = run_in(
        project, "docker-compose", "config", env_extra={"DB_PASSWORD": "pw", "DB_ROOT_PASSWORD": "pw"}
    )
    if answers.get("database", "sqlite") != "sqlite":
        assert "condition: service_healthy" in config.stdout
        assert "healthcheck:" in config.stdout
    backend_env = yaml.safe_load(config.stdout)["services"]["backend"]["environment"]
    assert "ADMIN_TOKEN" not in backend_env
    assert str(backend_env["AUTH_REQUIRED"]) == "1"
    # Forwarded headers are believed only from the frontend's nginx; with the backend's port
    # published (no frontend) from nobody.
    if answers.get("include_frontend", True):
        assert backend_env["TRUSTED_PROXIES"]
        assert "ports" not in yaml.safe_load(config.stdout)["services"]["backend"]
        nginx = (project / "docker" / "nginx.conf").read_text()
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
        assert "$proxy_add_x_forwarded_for" not in nginx
    else:
        assert not backend_env.get("TRUSTED_PROXIES")
    without_secret = subprocess.run(
        ["docker-compose", "config", "-q"], cwd=project, capture_output=True, text=True
    )
    if answers.get("database", "sqlite") != "sqlite":
        assert without_secret.returncode != 0, "no default database password"
        assert "DB_PASSWORD" in without_secret.stderr


def wait_healthy(container: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = json.loads(docker("inspect", container).stdout)[0]["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return
        if state["Status"] in ("exited", "dead"):
            break
        time.sleep(1)
    logs = docker("logs", container, check=False)
    pytest.fail(f"{container} is not healthy: {state}\n{logs.stdout[-3000:]}\n{logs.stderr[-3000:]}")


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def post_image(url: str, data: bytes) -> tuple[int, bytes]:
    body, content_type = multipart("image", "digit.png", data)
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def built_project(tmp_path_factory, docker_engine, plumbed_pipeline):
    project = render(tmp_path_factory.mktemp("docker") / "digit-recognizer")
    reproduce_for_plumbing(project, plumbed_pipeline)  # the images, not the accuracy, are under test here
    return project


@pytest.fixture(scope="module")
def stack(built_project):
    """The backend and frontend images, built once, and the project's compose.yaml running them
    (SQLite, no .env: SECRET_KEY generated into the volume) until the module's tests are done."""
    project = built_project
    name = f"fsmltest{uuid.uuid4().hex[:8]}"
    tag = f"test-{name}"  # of this run only: another run on the same engine keeps its own
    images = {part: f"local/digit-recognizer-{part}:{tag}" for part in ("backend", "frontend")}
    sizes = {}
    for part, image in images.items():
        started = time.monotonic()
        docker(
            "build",
            "-q",
            "-f",
            str(project / "docker" / f"{part}.Dockerfile"),
            "-t",
            image,
            str(project),
            timeout=1200,
        )
        info = json.loads(docker("image", "inspect", image).stdout)[0]
        sizes[part] = (info["Size"] / 1e6, time.monotonic() - started)
    port = free_port()
    env = {"REGISTRY": "local", "IMAGE_TAG": tag, "WEB_PORT": str(port)}
    compose = ["docker-compose", "--project-name", name]
    try:
        run_in(project, *compose, "up", "--detach", "--no-build", env_extra=env, timeout=300)
        for part in ("backend", "frontend"):
            wait_healthy(f"{name}_{part}_1")
        yield Stack(project, name, port, env, compose, images, sizes)
    finally:
        subprocess.run(
            [*compose, "down", "--volumes", "--timeout", "5"],
            cwd=project,
            capture_output=True,
            env=project_env(project) | env,
        )
        subprocess.run(["docker", "rmi", *images.values()], capture_output=True)


class Stack:
    def __init__(self, project, name, port, env, compose, images, sizes):
        self.project, self.name, self.port, self.env = project, name, port, env
        self.compose, self.images, self.sizes = compose, images, sizes
        self.url = f"http://127.0.0.1:{port}"

    def exec(self, service: str, *command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """`docker-compose exec -T SERVICE COMMAND` (the way the README creates the first admin)."""
        result = subprocess.run(
            [*self.compose, "exec", "-T", service, *command],
            cwd=self.project,
            env=project_env(self.project) | self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            pytest.fail(f"exec {service} {command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def flask(self, *args: str, stdin: str | None = None) -> str:
        app = "digit_recognizer.serving:create_app(load_model=False)"
        return self.exec("backend", "flask", "--app", app, *args, stdin=stdin).stdout.strip()


def http(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    """One request; any status is returned, not raised."""
    headers = dict(headers or {})
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def http_json(url: str, method: str = "GET", data: object = None, headers: dict | None = None):
    body = None if data is None else json.dumps(data).encode()
    status, raw, response_headers = http(
        url, method, body, "application/json" if data is not None else None, headers
    )
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw
    return status, parsed, response_headers


class Session:
    """A browser's login through the frontend's proxy: the session cookie and its CSRF token."""

    def __init__(self, url: str, username: str, password: str):
        self.url = url
        status, body, headers = http_json(
            f"{url}/api/auth/login", "POST", {"username": username, "password": password}
        )
        assert status == 200, (status, body)
        cookie = headers.get("Set-Cookie", "")
        assert cookie.startswith("session="), headers
        assert "HttpOnly" in cookie, cookie
        assert "SameSite=Lax" in cookie, cookie
        self.cookie = cookie.split(";", 1)[0]
        self.csrf = body["csrf_token"]
        assert body["user"]["username"] == username

    def call(self, method: str, path: str, data: object = None, csrf: bool = True):
        headers = {"Cookie": self.cookie} | ({"X-CSRFToken": self.csrf} if csrf else {})
        return http_json(f"{self.url}{path}", method, data, headers)


def resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def sample(document: dict, schema: dict, image: bytes) -> object:
    """A value of `schema` (a request body that would pass validation, or nearly: it never gets there)."""
    schema = resolve(document, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        return {key: sample(document, value, image) for key, value in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample(document, schema.get("items", {}), image)]
    return {"integer": 1, "number": 1, "boolean": True}.get(kind, "anonymous-write-1")


def anonymous_request(document: dict, operation: dict, image: bytes) -> tuple[bytes | None, str | None]:
    """The minimal body of an operation, in the content type its document names."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = sample(document, content["application/json"].get("schema", {}), image)
        return json.dumps(body).encode(), "application/json"
    if "multipart/form-data" in content:
        schema = resolve(document, content["multipart/form-data"].get("schema", {}))
        boundary = uuid.uuid4().hex
        parts = []
        for field, field_schema in schema.get("properties", {}).items():
            field_schema = resolve(document, field_schema)
            item = (
                resolve(document, field_schema.get("items", {}))
                if field_schema.get("type") == "array"
                else field_schema
            )
            if item.get("format") == "binary":
                head = (
                    f'Content-Disposition: form-data; name="{field}"; filename="digit.png"\r\n'
                    "Content-Type: image/png"
                )
                parts.append(f"--{boundary}\r\n{head}\r\n\r\n".encode() + image + b"\r\n")
            else:
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n1\r\n'.encode()
                )
        return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
    return None, None


def state(url: str, token: str) -> dict:
    """What an anonymous write could change, as an admin sees it."""
    headers = {"Authorization": f"Bearer {token}"}
    reads = {}
    for path in ("/api/annotations/stats", "/api/models", "/api/users", "/api/audit?limit=1"):
        status, body, _ = http_json(f"{url}{path}", headers=headers)
        assert status == 200, (path, status, body)
        reads[path] = body
    return {
        "progress": reads["/api/annotations/stats"]["progress"],
        "active_version": [m["version"] for m in reads["/api/models"]["models"] if m["active"]],
        "users": len(reads["/api/users"]["users"]),
        "newest_audit_event": reads["/api/audit?limit=1"]["events"][0]["id"],
    }


UNSAFE = ("post", "put", "patch", "delete")
ADMIN_PASSWORD = "first admin's passphrase"
ANNOTATOR_PASSWORD = "annotator's passphrase"


def test_the_stack_refuses_anonymous_writes_and_enforces_roles_csrf_and_login_throttling(stack):
    url = stack.url
    digit = sorted((stack.project / "data" / "raw" / "7").glob("*.png"))[0].read_bytes()

    # The first admin, as the README says, then a token to look at the state with.
    created = stack.flask("users", "create-admin", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    assert "created admin admin" in created
    token = stack.flask("users", "token", "admin", "--name", "template-test")
    admin_headers = {"Authorization": f"Bearer {token}"}
    # Something to aim at: one queued item (the model version registered at start exists already).
    body, content_type = multipart("images", "digit.png", digit)
    status, raw, _ = http(f"{url}/api/annotations/items", "POST", body, content_type, admin_headers)
    assert status == 201, raw
    item_id = json.loads(raw)["added"][0]["id"]
    _, models, _ = http_json(f"{url}/api/models")
    version_id = models["models"][0]["id"]
    _, tokens, _ = http_json(f"{url}/api/auth/tokens", headers=admin_headers)
    existing = {
        "item_id": item_id,
        "version_id": version_id,
        "user_id": 1,
        "token_id": tokens["tokens"][0]["id"],
    }

    # a. Every secured write of the API's own document, sent anonymously through the proxy: 401,
    # and nothing changed. A route added later is walked too.
    status, document, _ = http_json(f"{url}/api/openapi.json")
    assert status == 200
    secured = sorted(
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method in UNSAFE and operation.get("security") != []
    )
    assert all(document["paths"][path][method].get("security") for method, path in secured), (
        "an operation without `security` is treated as secured and must say so"
    )
    before = state(url, token)
    walked = []
    for method, path in secured:
        operation = document["paths"][path][method]
        concrete = path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                value = existing.get(parameter["name"], 1)
                concrete = concrete.replace("{" + parameter["name"] + "}", str(value))
        concrete = re.sub(r"\{[^}]+\}", "1", concrete)
        body, content_type = anonymous_request(document, operation, digit)
        status, raw, _ = http(f"{url}{concrete}", method.upper(), body, content_type)
        assert status == 401, f"anonymous {method.upper()} {concrete}: {status} {raw[:300]!r}"
        walked.append(f"{method.upper()} {concrete} ({operation.get('x-required-role')}) -> {status}")
    print(f"{len(secured)} secured writes in the document, sent anonymously:\n  " + "\n  ".join(walked))
    known = {
        ("post", "/api/models/{version_id}/activate"),
        ("put", "/api/annotations/items/{item_id}/review"),
        ("put", "/api/annotations/items/{item_id}/label"),
        ("post", "/api/users"),
    }
    assert known <= set(secured), secured
    assert len(walked) == len(secured)
    assert state(url, token) == before, "an anonymous write changed something"

    # b. The admin logs in through the proxy and creates an annotator with the cookie + CSRF header.
    admin = Session(url, "admin", ADMIN_PASSWORD)
    status, body, _ = admin.call(
        "POST", "/api/users", {"username": "ann", "password": ANNOTATOR_PASSWORD, "role": "annotator"}
    )
    assert status == 201, (status, body)
    annotator = Session(url, "ann", ANNOTATOR_PASSWORD)
    status, body, _ = annotator.call("POST", f"/api/models/{version_id}/activate")
    assert status == 403, (status, body)
    status, body, _ = annotator.call("PUT", f"/api/annotations/items/{item_id}/review", {"label": "7"})
    assert status == 403, (status, body)
    status, body, _ = annotator.call("PUT", f"/api/annotations/items/{item_id}/label", {"label": "7"})
    assert status == 200, (status, body)  # what an annotator may do, with the header
    # A cross-site form post rides on the cookie but cannot know the CSRF token: 403, no change.
    before = state(url, token)
    evil = {"Cookie": admin.cookie, "Origin": "http://evil.example", "Referer": "http://evil.example/"}
    form = b"username=mallory&password=mallory-passphrase&role=admin"
    status, raw, _ = http(f"{url}/api/users", "POST", form, "application/x-www-form-urlencoded", evil)
    assert status == 403, (status, raw)
    body, content_type = multipart("images", "digit.png", digit)
    status, raw, _ = http(f"{url}/api/annotations/items", "POST", body, content_type, evil)
    assert status == 403, (status, raw)
    status, raw, _ = http(
        f"{url}/api/models/{version_id}/activate", "POST", b"x=1", "application/x-www-form-urlencoded", evil
    )
    assert status == 403, (status, raw)
    assert state(url, token) == before, "a cross-site post changed something"

    # c. Passwords are stored as argon2id hashes, never as themselves.
    stored = stack.exec(
        "backend",
        "python",
        "-c",
        "import os, sqlalchemy as sa\n"
        "engine = sa.create_engine(os.environ['DATABASE_URL'])\n"
        "with engine.connect() as c:\n"
        "    for name, hashed in c.execute(sa.text('SELECT username, password_hash FROM users')):\n"
        "        print(name, hashed)",
    ).stdout
    hashes = dict(line.split(" ", 1) for line in stored.splitlines())
    assert set(hashes) == {"admin", "ann"}, stored
    assert all(hashed.startswith("$argon2id$") for hashed in hashes.values()), stored
    assert ADMIN_PASSWORD not in stored
    # No SECRET_KEY in the environment: generated once into the volume, readable by the app only.
    mode = stack.exec("backend", "stat", "-c", "%a %s", "/data/secret_key").stdout.split()
    assert mode[0] == "600", mode
    assert int(mode[1]) >= 32, mode
    assert ANNOTATOR_PASSWORD not in stored

    # d. 50 wrong passwords in a row through the proxy, each claiming another X-Forwarded-For:
    # nginx overwrites it, so they all count against the one real client address, and 429 comes.
    workers = 2  # compose's GUNICORN_WORKERS default; each counts in its own memory (memory://)
    statuses = []
    for attempt in range(50):
        status, _, _ = http_json(
            f"{url}/api/auth/login",
            "POST",
            {"username": "ann", "password": f"wrong password {attempt}"},
            {"X-Forwarded-For": f"203.0.113.{attempt + 1}"},
        )
        statuses.append(status)
    print(f"50 wrong logins through the proxy: {statuses.count(401)} x 401, {statuses.count(429)} x 429")
    assert set(statuses) == {401, 429}, statuses
    assert statuses[:10] == [401] * 10, statuses
    assert statuses.count(401) <= 10 * workers, statuses
    # Each worker refuses from its 11th failure on, whichever of them nginx's requests reach.
    assert statuses.count(429) >= len(statuses) - 10 * workers, statuses
    if statuses.count(401) == 10 * workers:  # every worker has counted its limit: locked out
        status, _, _ = http_json(
            f"{url}/api/auth/login", "POST", {"username": "ann", "password": ANNOTATOR_PASSWORD}
        )
        print(f"the right password through the proxy now: {status}")
        assert status == 429, "the limit holds for the right password too, from that address"
    _, events, _ = http_json(f"{url}/api/audit?limit=100&actor=ann", headers=admin_headers)
    addresses = {event["address"] for event in events["events"] if event["action"] == "login.failed"}
    print(f"failed logins recorded from {addresses}")
    assert len(addresses) == 1, addresses
    assert not any(address.startswith("203.0.113.") for address in addresses), addresses
    # From another address (the frontend container, straight to the backend's address on the
    # compose network) the right password still logs in: the limit is per client address.
    login = json.dumps({"username": "ann", "password": ANNOTATOR_PASSWORD})
    elsewhere = stack.exec(
        "frontend",
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "Content-Type: application/json",
        "--data",
        login,
        "http://backend:8000/api/auth/login",
    ).stdout
    assert elsewhere == "200", elsewhere
    _, events, _ = http_json(f"{url}/api/audit?limit=1&actor=ann", headers=admin_headers)
    assert events["events"][0]["action"] == "login", events
    print(f"logged in from {events['events'][0]['address']}")
    assert events["events"][0]["address"] not in addresses, "from another address"


def test_images_build_run_non_root_and_serve_a_prediction_through_the_frontend(stack):
    project, name, port, images, sizes = stack.project, stack.name, stack.port, stack.images, stack.sizes
    for part, image in images.items():
        info = json.loads(docker("image", "inspect", image).stdout)[0]
        assert info["Config"]["User"] not in ("", "0", "root", "0:0"), f"{part} runs as non-root"
        assert info["Config"]["Healthcheck"]["Test"][0] == "CMD", f"{part} has an exec-form HEALTHCHECK"
        assert isinstance(info["Config"]["Cmd"], list)
        assert info["Config"]["Cmd"][0] in ("gunicorn", "nginx")
    # OpenVINO, the second CPU runtime, is 108 MB installed without its GPU/NPU plugins and non-ONNX
    # frontends (180 MB with them): 532 MB seen (606 MB before the trim)
    assert sizes["backend"][0] < 560, f"backend image is {sizes['backend'][0]:.0f} MB"
    package = yaml.safe_load((project / ".copier-answers.yml").read_text())["package_name"]
    runtime_check = ["-m", f"{package}.runtime", "/app/models/current"]
    checked = docker("run", "--rm", "--entrypoint", "python", images["backend"], *runtime_check)
    candidates = json.loads(checked.stdout.strip().splitlines()[-1])["candidates"]
    trimmed = {label: entry for label, entry in candidates.items() if label.startswith("openvino/")}
    assert set(trimmed) == {"openvino/fp32", "openvino/int8"}, candidates
    assert all(entry["golden"]["passed"] for entry in trimmed.values()), "OpenVINO runs in the trimmed image"
    no_torch = docker(
        "run", "--rm", "--entrypoint", "python", images["backend"], "-c", "import torch", check=False
    )
    assert "No module named 'torch'" in no_torch.stderr, "the serving image has no PyTorch"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "docker-images.txt").write_text(
        "".join(
            f"{part}: {size:.1f} MB (built in {seconds:.1f} s on stand-in bases)\n"
            for part, (size, seconds) in sizes.items()
        )
    )
    print(f"image sizes: {sizes}")

    assert docker("exec", f"{name}_backend_1", "id", "-u").stdout.strip() == "10001"
    started = docker("logs", f"{name}_backend_1")
    assert "golden set passed" in started.stdout + started.stderr, "the backend self-tests at start"
    digit = sorted((project / "data" / "raw" / "7").glob("*.png"))[0].read_bytes()
    status, body = post_image(f"http://127.0.0.1:{port}/api/predict", digit)
    assert status == 200, body
    prediction = json.loads(body)
    assert prediction["label"] == "7"
    assert prediction["model_version"].startswith("local-")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/evaluation", timeout=30) as response:
        shown = {model["name"]: model for model in json.loads(response.read())["models"]}
    assert list(shown) == ["teacher", "student", "pruned"], "the Evaluation page has the image's reports"
    assert shown["teacher"]["benchmark"], "and the benchmark of the same run"
    status, body = post_image(f"http://127.0.0.1:{port}/api/predict", b"not an image")
    assert 400 <= status < 500
    assert "error" in json.loads(body)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/models", timeout=10) as page:
        assert b'<div id="app">' in page.read(), "Vue routes are served by nginx"
    # Last in the module: the backend stops for good.
    docker("stop", f"{name}_backend_1")
    status, _ = post_image(f"http://127.0.0.1:{port}/api/predict", digit)
    assert status in (502, 504), "the UI stays up and reports the backend as down"
