#!/usr/bin/env bash
# Build tgops-lab/base:bookworm from Debian packages (no registry can be reached, so nothing is pulled).
set -euo pipefail
DOCKER=/usr/bin/docker
image=tgops-lab/base:bookworm
if "$DOCKER" image inspect "$image" >/dev/null 2>&1; then
    echo "[lab] $image present"
    exit 0
fi
rootfs=$(mktemp -d /tmp/tgops-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "[lab] debootstrap bookworm into $rootfs"
debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/tmp/tgops-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/tgops-debootstrap.log; exit 1; }
# Keep images small and apt quiet inside builds.
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/90tgops"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | "$DOCKER" import -c 'CMD ["/bin/bash"]' -c 'ENV LANG=C.UTF-8' - "$image" >/dev/null
echo "[lab] built $image"
