#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: env_file
short_description: Set secret variables in a dotenv file, keeping every other line
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Sets C(KEY=value) lines in a dotenv file such as C(.env.production), the runbooks' C(sed -i
    "s/SECRET_KEY=.*/SECRET_KEY=.../") without its pitfalls - every other line (comments, blank lines, order,
    C(export) prefixes) stays byte for byte, every assignment of a key is replaced (a later duplicate would win
    over the new value), and an absent key is appended.
  - Values are never returned, logged or shown in a diff; the diff shows variable names only.
  - The file is written atomically (temporary file, then rename) with O(mode); O(backup) keeps a copy of the
    previous file to put back when a rotation fails its verification.
  - Values are written bare when they only contain characters every dotenv reader takes as is, else quoted.
extends_documentation_fragment:
  - tgops.runbooks._attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module reports which variables it would change and writes nothing.
  diff_mode:
    support: full
    details:
      - The diff lists the file's variable names, values masked, changed ones marked; never a value.
  idempotent:
    support: full
    details:
      - Setting the values already in the file reports no change (the mode is still enforced).
options:
  path:
    description:
      - The dotenv file.
    type: path
    required: true
  values:
    description:
      - Variables to set, C(NAME) to value. Names are plain environment variable names; values are strings
        without line breaks.
    type: dict
    required: true
  rename:
    description:
      - Write the value of O(values) key C(k) to the variable C(rename[k]) (for example a secret name to its env
        variable). When given, keys of O(values) it does not list are not written.
    type: dict
    default: {}
  mode:
    description:
      - Mode of the file after the module ran (secrets - owner only by default).
    type: raw
    default: '0600'
  backup:
    description:
      - Keep a copy of the file as it was before the change, next to it (its name is RV(backup_file)), mode
        V(0600) from the moment it exists whatever the file's own mode was (it holds the previous secrets).
    type: bool
    default: false
  create:
    description:
      - Create the file when it does not exist. Without it a missing file fails (a mistyped path must not start
        an empty env file).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Switch the application to the new database password (old file kept until verified)
  tgops.runbooks.env_file:
    path: /opt/toogoodtogo/deployment/.env.production
    values:
      POSTGRES_PASSWORD: "{{ new_db_password }}"
    backup: true
  register: env_change
  no_log: false  # the module never returns a value; the option itself is no_log
"""

RETURN = r"""
changed_keys:
  description: Names of the variables whose value changed (or would change in check mode).
  returned: always
  type: list
  elements: str
  sample: [POSTGRES_PASSWORD]
backup_file:
  description: The copy of the previous file, when O(backup) was set and the file changed.
  returned: changed and backup requested
  type: str
  sample: /opt/toogoodtogo/deployment/.env.production.1234.2026-11-23@03:00:00~
"""

import os
import shutil
import tempfile
import time

from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._rotation import (
    ENV_NAME, format_value, parse, set_values)


def masked_listing(text, changed=()):
    """The file's variable names, one a line, values masked: a diff that shows what, never the secret."""
    return ''.join('%s=%s\n' % (k, '<changed>' if k in changed else '<unchanged>') for k in parse(text))


def backup_private(module, path):
    """A copy of ``path`` next to it, named as AnsibleModule.backup_local names it, created mode 0600 from the
    start: backup_local's copy2 would keep the file's own mode, so the secrets of a 0644 env file (the state a
    repair is fixing) would stay readable to everyone in the copy after the file itself became 0600."""
    stamp = time.strftime('%Y-%m-%d@%H:%M:%S~', time.localtime())
    dest = '%s.%s.%s' % (path, os.getpid(), stamp)
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as out, open(path, 'rb') as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        st = os.stat(path)
        os.utime(dest, (st.st_atime, st.st_mtime))
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot back up %s to %s: %s' % (path, dest, to_native(exc.strerror or exc)))
    return dest


def main():
    module = new_module(
        argument_spec=dict(
            path=dict(type='path', required=True),
            values=dict(type='dict', required=True, no_log=True),
            rename=dict(type='dict', default={}),
            mode=dict(type='raw', default='0600'),
            backup=dict(type='bool', default=False),
            create=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    path = module.params['path']
    values = module.params['values']
    rename = module.params['rename']
    if rename:
        values = dict((str(rename[k]), v) for k, v in values.items() if k in rename)
    bad = sorted(str(k) for k in values if not ENV_NAME.match(str(k)))
    if bad:
        module.fail_json(msg='not environment variable names: %s' % ', '.join(bad))
    for key in sorted(values):
        value = values[key]
        if not isinstance(value, str):
            module.fail_json(msg='the value of %s must be a string' % key)
        try:
            format_value(value)
        except ValueError as exc:
            module.fail_json(msg='%s: %s' % (key, exc))

    exists = os.path.exists(path)
    if not exists and not module.params['create']:
        module.fail_json(msg='%s does not exist (create=true to start a new env file)' % path)
    if exists and not os.path.isfile(path):
        module.fail_json(msg='%s is not a regular file' % path)
    text = ''
    if exists:
        try:
            with open(path, 'rb') as handle:
                text = handle.read().decode('utf-8')
        except (IOError, OSError) as exc:
            module.fail_json(msg='cannot read %s: %s' % (path, to_native(exc.strerror or exc)))
        except UnicodeDecodeError:
            module.fail_json(msg='%s is not UTF-8 text' % path)

    new_text, changed_keys = set_values(text, values)
    result = dict(changed=bool(changed_keys) or not exists, changed_keys=changed_keys)
    if module._diff:
        result['diff'] = dict(before_header=path, after_header=path, before=masked_listing(text),
                              after=masked_listing(new_text, changed_keys))

    if result['changed'] and not module.check_mode:
        if exists and module.params['backup']:
            result['backup_file'] = backup_private(module, path)
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
        try:
            os.write(fd, to_bytes(new_text))
            os.fsync(fd)
        finally:
            os.close(fd)
        module.atomic_move(tmp, path)
    if exists or not module.check_mode:
        file_args = module.load_file_common_arguments(dict(path=path, mode=module.params['mode']))
        result['changed'] = module.set_fs_attributes_if_different(file_args, result['changed'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
