#!/usr/bin/env bash
# The main job: render the sample project with default answers and run its pipeline end to end.
#   bash scripts/demo.sh [destination]      (default: ./sample-project)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
VENV="${FSML_VENV:-$HOME/.cache/fullstack-ml/venv}"
# Node 24 LTS for the web UI, from PyPI (scripts/bootstrap.sh puts it in the tools venv).
export PATH="${FSML_TOOLS:-$HOME/.cache/fullstack-ml/tools}/node/bin:$VENV/bin:$PATH"
DEST="$(realpath -m "${1:-sample-project}")"
if [ -e "$DEST" ]; then
  echo "demo: $DEST already exists; remove it or pass another destination" >&2
  exit 1
fi
copier copy --trust --defaults --vcs-ref HEAD . "$DEST"
cd "$DEST"
make repro
make test
dvc metrics show
make frontend
make bench-serve

# Serve it (gunicorn, web UI at /) and ask for one prediction over HTTP.
export GUNICORN_BIND=127.0.0.1:8765
serve_log="$(mktemp -t fsml-demo-serve.XXXXXX.log)" # outside the project: its git status stays as the pipeline left it
echo "demo: server log in $serve_log"
set -m  # the server gets a process group of its own: make, its shell and gunicorn's workers stop together
make serve > "$serve_log" 2>&1 &
server=$!
set +m
trap 'kill -TERM -- "-$server" 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -fs http://127.0.0.1:8765/readyz >/dev/null && break; sleep 1; done
sample="$(find data/raw/7 -name '*.png' | head -n 1)"
echo "demo: POST /api/predict with $sample"
curl -fsS -F "image=@$sample" http://127.0.0.1:8765/api/predict
echo
echo "demo: project in $DEST. To go on there, in a new shell: cd $DEST && source $VENV/bin/activate && make serve (then http://localhost:8000/); its README.md has the rest (make install gives it a venv of its own)"
