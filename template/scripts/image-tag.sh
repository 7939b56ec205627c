#!/usr/bin/env bash
# THE image tag of a release, in one place: tag vX.Y.Z -> image tag X.Y.Z.
#   scripts/image-tag.sh v1.2.0      # prints 1.2.0
# release.yml pushes images under it, scripts/deploy.sh (compose) and scripts/k8s.sh (Kubernetes)
# run images under it; the template's tests fail when they disagree.
set -euo pipefail

version="${1:?usage: scripts/image-tag.sh vX.Y.Z}"
if ! [[ "$version" =~ ^v([0-9]+\.[0-9]+\.[0-9]+)$ ]]; then
  echo "image-tag: version must look like v1.2.3, got '$version'" >&2
  exit 2
fi
echo "${BASH_REMATCH[1]}"
