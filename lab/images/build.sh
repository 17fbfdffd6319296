#!/usr/bin/env bash
# Build every lab image from Debian packages (and, for boto3 and moto, PyPI). Docker's layer cache
# makes a second run take seconds.
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

# The server, S3 and emulator images need files that are not in the repo (the Compose plugin binary,
# the lab CA made by `lab/state.py`, the build machine's CA bundle for pip): assemble their contexts
# in a scratch directory.
ctx=$(mktemp -d /tmp/tgops-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/server" "$ctx/emulators" "$ctx/s3"
ca_bundle=/etc/ssl/certs/ca-certificates.crt

# The S3 image (moto from PyPI) takes longest on a cold build: build it beside the others.
cp "$here/s3/Dockerfile" "$ctx/s3/"
cp "$ca_bundle" "$ctx/s3/build-ca.crt"
build tgops-lab/s3:latest "$ctx/s3" &
s3_build=$!

cp "$here/server/Dockerfile" "$here/server/server-entrypoint.sh" "$ctx/server/"
cp "$ca_bundle" "$ctx/server/build-ca.crt"
cp /usr/local/lib/docker/cli-plugins/docker-compose "$ctx/server/docker-compose"
build tgops-lab/server:latest "$ctx/server"
build tgops-lab/firewall-host:latest "$here/firewall-host"

cp "$here/emulators/Dockerfile" "$ctx/emulators/"
cp -r "$root/lab/emulators/tgops_emulators" "$ctx/emulators/"
cp "$root/.lab/ca/ca.crt" "$ctx/emulators/lab-ca.crt"
build tgops-lab/emulators:latest "$ctx/emulators"
wait "$s3_build"
