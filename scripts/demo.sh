#!/usr/bin/env bash
# The main job: render the sample project with default answers and run its pipeline end to end.
#   bash scripts/demo.sh [destination]      (default: ./sample-project)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
VENV="${FSML_VENV:-$HOME/.cache/fullstack-ml/venv}"
export PATH="$VENV/bin:$PATH"
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
echo "demo: project in $DEST — see its README.md for the next steps"
