#!/usr/bin/env bash
# Build every lab image from Debian packages. Docker's layer cache makes a second run take seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DOCKER=/usr/bin/docker
build() { # build TAG CONTEXT
    local tag=$1 ctx=$2
    "$DOCKER" build --network host -q -t "$tag" "$ctx" >/dev/null
    echo "[lab] image $tag ready"
}
bash "$here/build-base.sh"
build tgops-lab/runtime:latest "$here/runtime"

# The server and emulator images need files that are not in the repo (the Compose plugin binary, the
# lab CA made by `lab/state.py`): assemble their contexts in a scratch directory.
ctx=$(mktemp -d /tmp/tgops-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/server" "$ctx/emulators"
cp "$here/server/Dockerfile" "$here/server/server-entrypoint.sh" "$ctx/server/"
cp /usr/local/lib/docker/cli-plugins/docker-compose "$ctx/server/docker-compose"
build tgops-lab/server:latest "$ctx/server"

cp "$here/emulators/Dockerfile" "$ctx/emulators/"
cp -r "$root/lab/emulators/tgops_emulators" "$ctx/emulators/"
cp "$root/.lab/ca/ca.crt" "$ctx/emulators/lab-ca.crt"
build tgops-lab/emulators:latest "$ctx/emulators"
