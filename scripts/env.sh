# shellcheck shell=bash
# Enter the tgops.runbooks environment in this shell: the tools `make demo` / `make venv` installed in
# .venv (ansible-playbook, ansible-vault, ansible-lint, ansible-navigator, ...) come first on PATH, and
# ANSIBLE_CONFIG names this checkout's ansible.cfg, so the README's commands work from any directory.
#
#   source scripts/env.sh        # bash; `deactivate_tgops` undoes it
#
# Sourced, not run: it changes the calling shell.
_tgops_src=${BASH_SOURCE[0]}
_tgops_root=$(cd "$(dirname "$_tgops_src")/.." && pwd)
if [ ! -x "$_tgops_root/.venv/bin/ansible-playbook" ]; then
    echo "tgops: $_tgops_root/.venv is not set up yet: run 'make demo' (or 'make venv') there first" >&2
    unset _tgops_src _tgops_root
    # shellcheck disable=SC2317  # exit only when run instead of sourced
    return 1 2>/dev/null || exit 1
fi
if [ -z "${_TGOPS_OLD_PATH+x}" ]; then
    _TGOPS_OLD_PATH=$PATH
    _TGOPS_OLD_ANSIBLE_CONFIG=${ANSIBLE_CONFIG-}
fi
export PATH="$_tgops_root/.venv/bin:$_TGOPS_OLD_PATH"
export ANSIBLE_CONFIG="$_tgops_root/ansible.cfg"
export TGOPS_ROOT="$_tgops_root"
deactivate_tgops() {
    export PATH=$_TGOPS_OLD_PATH
    if [ -n "$_TGOPS_OLD_ANSIBLE_CONFIG" ]; then export ANSIBLE_CONFIG=$_TGOPS_OLD_ANSIBLE_CONFIG; else unset ANSIBLE_CONFIG; fi
    unset _TGOPS_OLD_PATH _TGOPS_OLD_ANSIBLE_CONFIG TGOPS_ROOT
    unset -f deactivate_tgops
}
hash -r 2>/dev/null || true
unset _tgops_src _tgops_root
