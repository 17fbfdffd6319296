#!/usr/bin/env bash
# The tgops.runbooks execution environment (execution-environment.yml, ansible-builder schema 3).
#
#   bash scripts/ee.sh create   # stage files, ansible-builder create -> .build/ee/context (no engine needed)
#   bash scripts/ee.sh build    # create, then docker build unless an image with the same content hash exists
#   bash scripts/ee.sh image    # print the image name the current sources build (tgops-runbooks-ee:<hash>)
#
# The build uses the shared Docker engine: run it under the lab lock (flock /tmp/tgops-lab.lock ...);
# this script does not take the lock itself, so callers that already hold it do not deadlock.
# Cache: the image is tagged and labelled with a hash of the build context (the collection tarball by its
# file checksums, since tar timestamps change on every build); a second build with the same sources is
# a no-op. Built FROM tgops-lab/base:bookworm (lab/images/build-base.sh makes it without a registry).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=.build/ee
DOCKER=${DOCKER:-docker}

stage() {
    rm -rf .build/ee-files "$out"
    mkdir -p .build/ee-files "$out"
    # pip inside the build reaches PyPI through the build machine's CA bundle.
    cp "${TGOPS_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}" .build/ee-files/build-ca.crt
    # The collection's Python needs, installed with `ansible` in the base stage, before (and apart from) the
    # collection's layers: a change to the collection alone reuses them (execution-environment.yml).
    cp requirements-ee.txt .build/ee-files/requirements-ee.txt
    # The collection from the files git tracks (their working-tree content): tool caches in the checkout
    # (.ansible/, .hypothesis/, ...) change while other jobs run and are no part of the collection.
    local src
    src=$(mktemp -d /tmp/tgops-ee-src.XXXXXX)
    git ls-files -z | xargs -0 -I{} cp --parents -- {} "$src/" 2>/dev/null || true
    .venv/bin/ansible-galaxy collection build --force --output-path "$out" "$src" >/dev/null
    rm -rf "$src"
    mv "$out"/tgops-runbooks-*.tar.gz .build/ee-files/tgops-runbooks.tar.gz
}

create() {
    stage
    .venv/bin/ansible-builder create -f execution-environment.yml -c "$out/context" --output-filename Dockerfile >/dev/null
}

content_hash() {
    # Every file of the context but the tarball, then the tarball's own manifest of file checksums.
    (
        cd "$out/context"
        find . -type f ! -name tgops-runbooks.tar.gz -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
        tar -xzOf _build/files/tgops-runbooks.tar.gz FILES.json
    ) | sha256sum | cut -c1-16
}

case "${1:-build}" in
    create)
        create
        echo "$out/context"
        ;;
    image)
        create
        echo "tgops-runbooks-ee:$(content_hash)"
        ;;
    build)
        create
        hash=$(content_hash)
        image="tgops-runbooks-ee:$hash"
        if [ -n "$("$DOCKER" images -q --filter "label=org.tgops.ee.hash=$hash")" ]; then
            echo "[ee] $image present (same content hash): not rebuilt" >&2
        else
            "$DOCKER" image inspect tgops-lab/base:bookworm >/dev/null 2>&1 || bash lab/images/build-base.sh >&2
            "$DOCKER" build --network host -q --label "org.tgops.ee.hash=$hash" -t "$image" -t tgops-runbooks-ee:latest \
                -f "$out/context/Dockerfile" "$out/context" >&2
            echo "[ee] built $image" >&2
        fi
        echo "$image"
        ;;
    *)
        echo "usage: $0 create|image|build" >&2
        exit 2
        ;;
esac
