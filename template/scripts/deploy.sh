#!/usr/bin/env bash
# Deploy (or roll back to) a released version with docker compose.
#   scripts/deploy.sh v1.2.0 staging
# DOCKER_HOST selects the target engine (ssh://user@host for a remote one; DEPLOY_SSH_KEY is its key
# and DEPLOY_KNOWN_HOSTS its host key).
# Images come from the registry, tagged by the release workflow: nothing is built here.
set -euo pipefail

version="${1:?usage: scripts/deploy.sh vX.Y.Z ENVIRONMENT}"
environment="${2:?usage: scripts/deploy.sh vX.Y.Z ENVIRONMENT}"
if ! [[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "deploy: version must look like v1.2.3, got '$version'" >&2
  exit 2
fi

if [ -n "${DEPLOY_SSH_KEY:-}" ]; then
  install -m 700 -d ~/.ssh
  printf '%s\n' "$DEPLOY_SSH_KEY" > ~/.ssh/deploy_key
  chmod 600 ~/.ssh/deploy_key
  printf 'Host *\n  IdentityFile ~/.ssh/deploy_key\n' >> ~/.ssh/config
  # Pin the host key (DEPLOY_KNOWN_HOSTS, from `ssh-keyscan host`) rather than trusting on first use.
  if [ -n "${DEPLOY_KNOWN_HOSTS:-}" ]; then printf '%s\n' "$DEPLOY_KNOWN_HOSTS" >> ~/.ssh/known_hosts; fi
fi

export IMAGE_TAG="$version"
project="$(basename "$PWD")-$environment"
echo "deploy: $version -> $environment (${DOCKER_HOST:-local engine}), compose project $project"
docker compose --project-name "$project" pull
docker compose --project-name "$project" up --detach --wait --remove-orphans
docker compose --project-name "$project" ps
