#!/usr/bin/env bash
# Build the collection's docs site with antsibull-docs into .build/docs (git-ignored): every module and
# filter (DOCUMENTATION), every role (meta/argument_specs.yml), and a page of the playbooks (their header
# comments, which say how to run them and what they do).
#
#   bash scripts/docs.sh          # build: .build/docs/build/html/index.html
#   bash scripts/docs.sh lint     # antsibull-docs lint-collection-docs --plugin-docs (what CI runs)
#
# Needs antsibull-docs 2.28, sphinx and sphinx-ansible-theme in .venv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/.venv/bin:$PATH"
# The collection as Ansible sees it from the checkout (`make venv` links it there).
export ANSIBLE_COLLECTIONS_PATH="$root/.collections"
collection="$root/.collections/ansible_collections/tgops/runbooks"
test -e "$collection/galaxy.yml" || { echo "docs: $collection is missing: run 'make venv' first" >&2; exit 1; }

if [ "${1:-build}" = lint ]; then
    cd "$collection"
    exec antsibull-docs lint-collection-docs --plugin-docs .
fi

dest="$root/.build/docs"
rm -rf "$dest"
mkdir -p "$dest"
chmod 700 "$dest"  # antsibull-docs wants its directories writable by their owner only
antsibull-docs sphinx-init --use-current --dest-dir "$dest" --project "tgops.runbooks" \
    --title "tgops.runbooks" tgops.runbooks >/dev/null
cd "$dest"
mkdir -p rst
chmod og-w rst
antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything --use-current \
    --dest-dir rst tgops.runbooks

# The playbooks: antsibull-docs documents plugins and roles; each playbook's header comment is its doc.
python3 - "$root" rst/playbooks.rst <<'PY'
import os, sys
root, out = sys.argv[1], sys.argv[2]
lines = ["Playbooks", "=========", "", "One playbook per runbook procedure (``playbooks/``). Each page is the playbook's own header.", ""]
for name in sorted(os.listdir(os.path.join(root, "playbooks"))):
    if not name.endswith(".yml"):
        continue
    header = []
    with open(os.path.join(root, "playbooks", name), encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("---"):
                continue
            if not line.startswith("#"):
                break
            header.append(line[1:].rstrip("\n")[1:] if line.startswith("# ") else line[1:].rstrip("\n"))
    title = "playbooks/" + name
    lines += [title, "-" * len(title), "", ".. code-block:: text", ""] + ["    " + h for h in header] + [""]
with open(out, "w", encoding="utf-8") as handle:
    handle.write("\n".join(lines) + "\n")
PY
printf '\n.. toctree::\n   :maxdepth: 1\n   :caption: Playbooks:\n\n   playbooks\n' >> rst/index.rst

sphinx-build -M html rst build -c . -q --keep-going
echo "docs: $dest/build/html/index.html"
