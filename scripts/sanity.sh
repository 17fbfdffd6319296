#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of the collection laid out as ansible_collections/tgops/runbooks
# (ansible-test insists on that path). Extra arguments go to ansible-test, e.g. --test validate-modules.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${TGOPS_SANITY_DIR:-$root/.build/sanity}/ansible_collections/tgops/runbooks
mkdir -p "$dest"
# Only what git would ship: tracked files plus untracked files that are not ignored.
(cd "$root" && git ls-files -co --exclude-standard -z) \
    | rsync -a --delete --from0 --files-from=- "$root"/ "$dest"/
cd "$dest"
# ansible-test wants a git repo or it sanity-checks everything it finds; a fresh one keeps it to our files.
[ -d .git ] || { git init -q && git add -A && git -c user.email=ci@tgops -c user.name=ci commit -qm sanity; }
git add -A >/dev/null 2>&1 && git -c user.email=ci@tgops -c user.name=ci commit -qm sanity >/dev/null 2>&1 || true
exec "$root/.venv/bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
