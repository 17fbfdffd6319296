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
# ansible-test bootstraps pip in its venvs with a script it downloads from a host outside the package
# registries; give it a local stand-in (see scripts/get_pip_offline.py).
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',*$/\1/p" "$root"/.venv/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n 1)
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
[ -f "$cache" ] || { mkdir -p "$(dirname "$cache")"; cp "$root/scripts/get_pip_offline.py" "$cache"; }
cd "$dest"
# ansible-test wants a git repo or it sanity-checks everything it finds; a fresh one keeps it to our files.
[ -d .git ] || { git init -q && git add -A && git -c user.email=ci@tgops -c user.name=ci commit -qm sanity; }
git add -A >/dev/null 2>&1
if ! git diff --cached --quiet; then
    git -c user.email=ci@tgops -c user.name=ci commit -qm sanity >/dev/null
fi
exec "$root/.venv/bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
