# shellcheck shell=bash
# Enter the tgops.runbooks environment in this shell: the tools `make demo` / `make venv` installed in
# .venv (ansible-playbook, ansible-vault, ansible-lint, ansible-navigator, ...) come first on PATH,
# ANSIBLE_CONFIG names this checkout's ansible.cfg, and, once `make lab` has made it, the lab's Vault
# password file is ANSIBLE_VAULT_PASSWORD_FILE (unless you set one), so the README's commands work from
# any directory.
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
    _TGOPS_OLD_VAULT=${ANSIBLE_VAULT_PASSWORD_FILE-}
fi
export PATH="$_tgops_root/.venv/bin:$_TGOPS_OLD_PATH"
export ANSIBLE_CONFIG="$_tgops_root/ansible.cfg"
export TGOPS_ROOT="$_tgops_root"
if [ -z "${_TGOPS_OLD_VAULT-}" ] && [ -f "$_tgops_root/.lab/vault-pass" ]; then
    export ANSIBLE_VAULT_PASSWORD_FILE="$_tgops_root/.lab/vault-pass"
fi
deactivate_tgops() {
    export PATH=$_TGOPS_OLD_PATH
    if [ -n "$_TGOPS_OLD_ANSIBLE_CONFIG" ]; then export ANSIBLE_CONFIG=$_TGOPS_OLD_ANSIBLE_CONFIG; else unset ANSIBLE_CONFIG; fi
    if [ -n "${_TGOPS_OLD_VAULT-}" ]; then export ANSIBLE_VAULT_PASSWORD_FILE=$_TGOPS_OLD_VAULT; else unset ANSIBLE_VAULT_PASSWORD_FILE; fi
    unset _TGOPS_OLD_PATH _TGOPS_OLD_ANSIBLE_CONFIG _TGOPS_OLD_VAULT TGOPS_ROOT
    unset -f deactivate_tgops
}
hash -r 2>/dev/null || true
unset _tgops_src _tgops_root
