#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: secret_store
short_description: Write rotated secrets back to an Ansible Vault file (or a plain JSON secrets file)
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Sets variables in an inventory's Ansible Vault file so the next run knows the rotated secrets. Run it on the
    controller (delegate the task to C(localhost)).
  - The file is decrypted with C(ansible-vault decrypt --output -) (the plain text only on a pipe), the values
    set, the plain text written to a C(0600) temporary file next to it, encrypted in place with
    C(ansible-vault encrypt), then renamed over the vault file. No secret is ever on a command line.
  - The vault password file is given to C(ansible-vault) through C(ANSIBLE_VAULT_PASSWORD_FILE).
  - A vault holding a JSON object (what the lab writes) stays JSON; a YAML mapping is written back as YAML
    (comments in the encrypted file are not kept).
  - With O(vault=false) the file is a plain JSON object written C(0600) (the lab's C(.lab/secrets.json));
    O(section) then names the nested object that holds the values.
  - A value containing a Jinja marker (C({{), C({%), C({#)) is refused, naming its variable, never the value -
    Ansible would template it when it reads the vault on the next run, so the stored secret would not be the one
    in use (a JSON vault cannot carry C(!unsafe), and no issuer's credential contains these).
  - The file and its directory must be writable, checked in check mode too, so a caller can check where the values
    will be stored before it changes anything (the secret_rotation role does, before its switch).
extends_documentation_fragment:
  - tgops.runbooks._attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module checks that O(path) can be written, decrypts and compares, reports RV(changed_keys)
        and writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Values already stored report no change and the file is not re-encrypted.
requirements:
  - ansible-vault on the controller (O(vault_bin)), PyYAML (an Ansible controller has both)
options:
  path:
    description:
      - The vault file, for example C(inventories/production/group_vars/all/vault.yml).
    type: path
    required: true
  values:
    description:
      - Variables to set, name to value.
    type: dict
    required: true
  vault:
    description:
      - Whether O(path) is an Ansible Vault file; V(false) for a plain JSON object.
    type: bool
    default: true
  section:
    description:
      - With O(vault=false), the key of the nested object holding the values (the platform in C(secrets.json)).
    type: str
  rename:
    description:
      - Store the value of O(values) key C(k) under C(rename[k]) (for example a secret name to its vault variable).
      - When O(rename) is given, keys of O(values) it does not list are not stored.
    type: dict
    default: {}
  vault_password_file:
    description:
      - The vault password file (or script). Without it, C(ansible-vault) uses its own configuration.
    type: path
  vault_bin:
    description:
      - The C(ansible-vault) program, for example C({{ ansible_playbook_python | dirname }}/ansible-vault).
    type: str
    default: ansible-vault
"""

EXAMPLES = r"""
- name: Remember the new database password in the inventory's vault
  tgops.runbooks.secret_store:
    path: "{{ inventory_dir }}/group_vars/all/vault.yml"
    values:
      vault_toogoodtogo_postgres_password: "{{ new_password }}"
    vault_password_file: "{{ lookup('ansible.builtin.config', 'DEFAULT_VAULT_PASSWORD_FILE') }}"
    vault_bin: "{{ ansible_playbook_python | dirname }}/ansible-vault"
  delegate_to: localhost
"""

RETURN = r"""
changed_keys:
  description: Names of the variables whose stored value changed (or would change in check mode).
  returned: always
  type: list
  elements: str
  sample: [vault_toogoodtogo_postgres_password]
"""

import json
import os
import tempfile
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._rotation import template_marker

try:
    import yaml
    HAS_YAML = True
    YAML_ERROR = None
except ImportError:
    HAS_YAML = False
    YAML_ERROR = traceback.format_exc()


def load(text, path):
    """(mapping, is_json) of the decrypted text."""
    stripped = text.strip()
    if not stripped:
        return {}, True
    if stripped.startswith('{'):
        try:
            data = json.loads(stripped)
            if isinstance(data, dict):
                return data, True
        except ValueError:
            pass
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ValueError('%s does not hold YAML or JSON' % path)
    if not isinstance(data, dict):
        raise ValueError('%s does not hold a mapping of variables' % path)
    return data, False


def dump(data, is_json):
    if is_json:
        return json.dumps(data, indent=2) + '\n'
    return '---\n' + yaml.safe_dump(data, default_flow_style=False, sort_keys=False)


def main():
    module = new_module(
        argument_spec=dict(
            path=dict(type='path', required=True),
            values=dict(type='dict', required=True, no_log=True),
            vault=dict(type='bool', default=True),
            section=dict(type='str'),
            rename=dict(type='dict', default={}),
            vault_password_file=dict(type='path', no_log=False),
            vault_bin=dict(type='str', default='ansible-vault'),
        ),
        required_if=[('vault', True, ['vault_bin'])],
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib('PyYAML'), exception=YAML_ERROR)
    p = module.params
    path = p['path']
    if p['rename']:
        values = dict((str(p['rename'][k]), v) for k, v in p['values'].items() if k in p['rename'])
    else:
        values = p['values']
    if p['section'] and p['vault']:
        module.fail_json(msg='section is for plain JSON files (vault=false)')
    wrong = sorted(str(k) for k, v in values.items() if not isinstance(v, str))
    if wrong:
        module.fail_json(msg='the values of %s must be strings' % ', '.join(wrong))
    templated = sorted('%s ("%s")' % (k, template_marker(v)) for k, v in values.items() if template_marker(v))
    if templated:
        module.fail_json(msg='the values of %s contain a Jinja marker, which Ansible would template when it reads %s '
                         'on the next run: refused, nothing was written' % (', '.join(templated), path))
    where = os.path.abspath(path)
    if not os.path.isfile(path):
        module.fail_json(msg='%s (%s) does not exist or is not a file' % (path, where))
    directory = os.path.dirname(where)
    if not os.access(where, os.W_OK) or not os.access(directory, os.W_OK | os.X_OK):
        module.fail_json(msg='%s cannot be written: the file or its directory %s is not writable by this user'
                         % (where, directory))
    env = {}
    if p['vault_password_file']:
        if not os.path.exists(p['vault_password_file']):
            module.fail_json(msg='vault password file %s does not exist' % p['vault_password_file'])
        env['ANSIBLE_VAULT_PASSWORD_FILE'] = p['vault_password_file']

    if p['vault']:
        rc, out, err = module.run_command([p['vault_bin'], 'decrypt', '--output', '-', path],
                                          environ_update=env)
        if rc != 0:
            module.fail_json(msg='ansible-vault cannot decrypt %s: %s' % (path, to_native(err).strip()[-400:]), rc=rc)
        text = out
    else:
        with open(path, 'rb') as handle:
            text = to_text(handle.read())
    try:
        data, is_json = load(text, path)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if not p['vault']:
        is_json = True

    target = data
    if p['section']:
        target = data.get(p['section'])
        if not isinstance(target, dict):
            module.fail_json(msg='%s has no object %s' % (path, p['section']))
    changed_keys = sorted(k for k, v in values.items() if target.get(k) != v)
    if changed_keys and not module.check_mode:
        target.update(values)
        # mkstemp creates the file 0600: the plain text is never readable by others, even for a moment.
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
        try:
            os.write(fd, to_bytes(dump(data, is_json)))
            os.fsync(fd)
            os.close(fd)
            fd = None
            if p['vault']:
                rc, out, err = module.run_command([p['vault_bin'], 'encrypt', tmp], environ_update=env)
                if rc != 0:
                    module.fail_json(msg='ansible-vault cannot encrypt the new %s: %s'
                                     % (path, to_native(err).strip()[-400:]), rc=rc)
            module.atomic_move(tmp, path)
        finally:
            if fd is not None:
                os.close(fd)
            if os.path.exists(tmp):
                os.remove(tmp)
        os.chmod(path, 0o600)
    module.exit_json(changed=bool(changed_keys), changed_keys=changed_keys)


if __name__ == '__main__':
    main()
