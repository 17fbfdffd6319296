#!/usr/bin/env bash
# Build the Galaxy tarball into .build/ (galaxy.yml's build_ignore keeps the lab and tooling out).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/.build"
cd "$root"
"$root/.venv/bin/ansible-galaxy" collection build --force --output-path "$root/.build" .
