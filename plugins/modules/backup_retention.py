#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: backup_retention
short_description: Remove daily PostgreSQL backups that a keep-N / keep-days policy no longer keeps
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Applies the runbooks' retention to the backups in O(path) named C(<prefix>_YYYYMMDD_HHMMSS.<ext>) (the names
    M(tgops.runbooks.pg_backup) writes) - toogoodtogo keeps daily backups 7 days and its clean-up keeps the last
    7.
  - A daily backup is kept when it is one of the newest O(keep) daily backups, or when its stamp is at most
    O(keep_days) days old; every other daily backup is removed. Either rule keeps a backup, so a host whose
    backups stopped for a month still has its last O(keep).
  - At least one daily backup is always kept - O(keep) below 1 is refused before anything is removed - and the
    backups named in O(protect) (the one just taken and verified) are never removed, whatever their name's stamp
    (a file named with a future stamp cannot push the newest verified backup out).
  - Age comes from the stamp in the name (the host's local time), not the modification time, which a copy or
    a download from off-site storage resets.
  - Labelled backups (C(<prefix>_YYYYMMDD_HHMMSS_<label>.<ext>), such as C(pre_deployment)) are not daily
    backups and are never removed here ("kept until their own cleanup"); files with other names are not touched.
  - For a read-only view use M(tgops.runbooks.backup_verify) with its C(retention) option.
extends_documentation_fragment:
  - tgops.runbooks._attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module reports what it would remove (RV(removed)) and removes nothing.
  diff_mode:
    support: full
    details:
      - The diff lists the daily backups before and after.
  idempotent:
    support: full
    details:
      - A second run with the same policy (within the same second) removes nothing.
options:
  path:
    description:
      - The backup directory.
    type: path
    required: true
  prefix:
    description:
      - File name prefix of the backups, for example V(backup) or V(toogoodtogo).
    type: str
    required: true
  format:
    description:
      - V(custom) (C(.dump)) or V(plain_gz) (C(.sql.gz)); only backups with that extension are considered.
    type: str
    choices: [custom, plain_gz]
    default: custom
  keep:
    description:
      - Keep the newest this many daily backups. At least V(1).
    type: int
    default: 7
  keep_days:
    description:
      - Keep daily backups at most this many days old. V(0) keeps none by age.
    type: int
    default: 7
  protect:
    description:
      - Backups (paths) never removed whatever the policy - the newest verified backup.
    type: list
    elements: path
    default: []
"""

EXAMPLES = r"""
- name: The toogoodtogo runbook's retention (7 days, and never fewer than the last 7)
  tgops.runbooks.backup_retention:
    path: /opt/backups/postgres
    prefix: toogoodtogo
    format: plain_gz
    keep: 7
    keep_days: 7
    protect: ["{{ new_backup.path }}"]  # the backup just taken and verified
  register: pruned

- name: Say what was removed
  ansible.builtin.debug:
    msg: "Removed {{ pruned.removed | length }} old backup(s)"
"""

RETURN = r"""
removed:
  description: Daily backups removed (in check mode, that would be removed), newest first.
  returned: always
  type: list
  elements: str
  sample: [/opt/backups/postgres/toogoodtogo_20250110_030000.sql.gz]
kept:
  description: Daily backups kept, newest first.
  returned: always
  type: list
  elements: str
labelled:
  description: Labelled backups (such as C(pre_deployment)), which this module leaves alone.
  returned: always
  type: list
  elements: str
"""

import datetime
import os


from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._pg_backup import list_named_backups, retention_plan


def main():
    module = new_module(
        argument_spec=dict(
            path=dict(type='path', required=True),
            prefix=dict(type='str', required=True),
            format=dict(type='str', default='custom', choices=['custom', 'plain_gz']),
            keep=dict(type='int', default=7),
            keep_days=dict(type='int', default=7),
            protect=dict(type='list', elements='path', default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not os.path.isdir(params['path']):
        module.fail_json(msg='backup directory %s does not exist' % params['path'])
    try:
        backups = list_named_backups(params['path'], params['prefix'], params['format'])
        plan = retention_plan(backups, datetime.datetime.now(), keep=params['keep'], keep_days=params['keep_days'],
                              protect=[os.path.join(params['path'], os.path.basename(p)) for p in params['protect']])
    except (OSError, ValueError) as exc:
        module.fail_json(msg='retention in %s: %s' % (params['path'], exc))
    result = dict(changed=bool(plan['remove']), removed=plan['remove'], kept=plan['keep'], labelled=plan['labelled'])
    if module._diff:
        result['diff'] = {
            'before': '\n'.join(b['name'] for b in backups if not b['label']) + '\n',
            'after': '\n'.join(os.path.basename(p) for p in plan['keep']) + '\n',
            'before_header': '%s (daily backups)' % params['path'],
            'after_header': '%s (daily backups)' % params['path'],
        }
    if not module.check_mode:
        for path in plan['remove']:
            try:
                os.unlink(path)
            except OSError as exc:
                module.fail_json(msg='cannot remove %s: %s' % (path, exc), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
