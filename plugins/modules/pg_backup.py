#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: pg_backup
short_description: Take a PostgreSQL backup named as the runbooks name them, atomically and privately
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Runs C(pg_dump) on the host against the database O(login_db) and writes a new backup into O(dest), named
    C(<prefix>_YYYYMMDD_HHMMSS.<ext>) or, with O(label), C(<prefix>_YYYYMMDD_HHMMSS_<label>.<ext>) - the tgquiz
    runbook's C(backup_20250120_143000.dump) and the toogoodtogo runbook's
    C(toogoodtogo_20250120_030000_pre_deployment.sql.gz). The stamp is the host's local time.
  - O(format=custom) is C(pg_dump -Fc) (C(.dump)); O(format=plain_gz) is the plain SQL script gzipped by
    C(pg_dump) itself (C(.sql.gz)).
  - C(pg_dump) writes the file itself (C(--file)), so its exit status is the verdict - no shell pipe can turn
    a failed dump into a small "successful" file. The dump goes to a hidden temporary name in O(dest), created
    with mode O(mode) before C(pg_dump) opens it, and is linked to its final name only when C(pg_dump) exited 0
    and wrote something; an existing backup is never replaced. Any failure removes the temporary file.
  - With O(hmac_key), also returns RV(hmac), the HMAC-SHA256 of the new file's name and SHA-256 under that key - the
    proof of origin the C(tgops.runbooks.backup) role records with an off-site copy and the C(tgops.runbooks.restore)
    role checks (M(tgops.runbooks.pg_backup_restore) O(tgops.runbooks.pg_backup_restore#module:expected_hmac)) before
    anything reads a download.
  - Returns the SHA-256 of the new file; verify it with M(tgops.runbooks.backup_verify) (O(tgops.runbooks.backup_verify#module:expected_sha256)).
  - The password goes to C(pg_dump) in a private libpq password file (mode 0600, C(PGPASSFILE)) that exists for
    the duration of the dump, never on its command line or in its environment.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._postgres
  - tgops.runbooks._postgres.login_db_name
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module reports the file it would write and the command, and writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - A backup is an action, not a state - every run writes a new file and reports RV(ignore:changed=true).
        Use M(tgops.runbooks.backup_retention) to bound how many are kept.
options:
  dest:
    description:
      - Directory the backup is written to. It must exist.
    type: path
    required: true
  prefix:
    description:
      - File name prefix - V(backup) for tgquiz, V(toogoodtogo) for toogoodtogo.
    type: str
    required: true
  format:
    description:
      - V(custom) for C(pg_dump -Fc) (C(.dump)), V(plain_gz) for gzip-compressed plain SQL (C(.sql.gz)).
    type: str
    choices: [custom, plain_gz]
    default: custom
  label:
    description:
      - Appended to the stamp, for example V(pre_deployment). Labelled backups are left alone by the daily
        retention of M(tgops.runbooks.backup_retention).
      - Letters, digits, C(-) and single C(_).
    type: str
  mode:
    description:
      - Permissions of the backup file.
    type: raw
    default: '0600'
  bin_dir:
    description:
      - Directory of C(pg_dump) when it is not on E(PATH), for example V(/usr/lib/postgresql/15/bin). Its major
        version must be at least the server's.
    type: path
  hmac_key:
    description:
      - Secret key (a vault secret) of the HMAC returned in RV(hmac). Never returned or logged.
      - If not set, the environment variable E(TGOPS_BACKUP_HMAC_KEY) is used.
    type: str
notes:
  - The dump runs on the host with its PostgreSQL client against O(login_host)/O(login_port) (the stack's published
    port), rather than C(docker compose exec pg_dump > file) - the redirection would lose C(pg_dump)'s exit status
    without C(pipefail) and buffer the output through the compose CLI.
seealso:
  - module: tgops.runbooks.backup_verify
  - module: tgops.runbooks.backup_retention
  - module: tgops.runbooks.pg_backup_restore
"""

EXAMPLES = r"""
- name: Back up tgquiz as its runbook does (custom format, /backup/backup_YYYYMMDD_HHMMSS.dump)
  tgops.runbooks.pg_backup:
    login_db: tgquiznft_prod
    dest: /backup
    prefix: backup
    format: custom
    login_host: 127.0.0.1
    login_port: 15432
    login_user: postgres
    login_password: "{{ vault_tgquiz_postgres_password }}"
  register: tgquiz_backup

- name: Verify it byte for byte against the checksum taken when it was written
  tgops.runbooks.backup_verify:
    path: "{{ tgquiz_backup.path }}"
    expected_sha256: "{{ tgquiz_backup.sha256 }}"

- name: Pre-deployment backup of toogoodtogo (toogoodtogo_YYYYMMDD_HHMMSS_pre_deployment.sql.gz)
  tgops.runbooks.pg_backup:
    login_db: toogoodtogo
    dest: /opt/backups/postgres
    prefix: toogoodtogo
    format: plain_gz
    label: pre_deployment
    login_host: 127.0.0.1
    login_port: 25432
    login_user: toogoodtogo
    login_password: "{{ vault_toogoodtogo_postgres_password }}"

- name: Connect once for this collection's and community.postgresql's modules
  module_defaults:
    group/tgops.runbooks.postgresql:  # extends group/community.postgresql.all
      login_host: 127.0.0.1
      login_port: 15432
      login_user: postgres
      login_password: "{{ vault_tgquiz_postgres_password }}"
      login_db: tgquiznft_prod
  block:
    - name: Back up before the migration
      tgops.runbooks.pg_backup:
        dest: /backup
        prefix: backup
        label: pre_migration

    - name: Run the migration's SQL
      community.postgresql.postgresql_query:
        query: ALTER TABLE users ADD COLUMN IF NOT EXISTS locale text
"""

RETURN = r"""
path:
  description: The new backup (in check mode, the name it would have had now).
  returned: always
  type: str
  sample: /backup/backup_20250120_143000.dump
name:
  description: File name of RV(path).
  returned: always
  type: str
  sample: backup_20250120_143000.dump
format:
  description: O(format).
  returned: always
  type: str
  sample: custom
label:
  description: O(label), or null.
  returned: always
  type: str
size:
  description: Size in bytes.
  returned: success, not in check mode
  type: int
  sample: 48213
sha256:
  description: SHA-256 of the file as written.
  returned: success, not in check mode
  type: str
command:
  description: The C(pg_dump) command (argv). It carries no password.
  returned: always
  type: list
  elements: str
hmac:
  description: HMAC-SHA256 (hex) of the file name and RV(sha256) under O(hmac_key).
  returned: success with O(hmac_key), not in check mode
  type: str
duration_seconds:
  description: Time taken by the dump.
  returned: success, not in check mode
  type: float
stage:
  description: On failure, the step that failed - C(dump) or C(rename).
  returned: failure
  type: str
"""

import datetime
import os

from ansible.module_utils.basic import env_fallback

from ansible_collections.tgops.runbooks.plugins.module_utils._pg_backup import (
    BackupError,
    backup_hmac,
    check_label,
    dump_argv,
    plan_backup,
    take_backup,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import (
    conn_from_params,
    postgres_module,
)


def main():
    module = postgres_module(dict(
        dest=dict(type='path', required=True),
        prefix=dict(type='str', required=True),
        format=dict(type='str', default='custom', choices=['custom', 'plain_gz']),
        label=dict(type='str'),
        mode=dict(type='raw', default='0600'),
        bin_dir=dict(type='path'),
        hmac_key=dict(type='str', no_log=True, fallback=(env_fallback, ['TGOPS_BACKUP_HMAC_KEY'])),
    ), login_db_aliases=['name'])
    params = module.params
    try:
        label = check_label(params['label'])
        planned = plan_backup(params['dest'], params['prefix'], params['format'], label, datetime.datetime.now())
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        mode = params['mode'] if isinstance(params['mode'], int) else int(str(params['mode']), 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777:
        module.fail_json(msg='mode %s: give permissions such as 0600' % params['mode'])
    result = dict(changed=True, path=planned['path'], name=planned['name'], format=params['format'], label=label)
    if module.check_mode:
        if not os.path.isdir(params['dest']):
            module.warn('backup directory %s does not exist' % params['dest'])
        result['command'] = dump_argv('pg_dump', conn_from_params(params), params['login_db'], params['format'],
                                      planned['path'])
        module.exit_json(**result)

    opt_dirs = [params['bin_dir']] if params['bin_dir'] else []
    pg_dump = module.get_bin_path('pg_dump', required=True, opt_dirs=opt_dirs)

    def run_command(argv, environ_update=None):
        return module.run_command(argv, environ_update=environ_update)
    conn = conn_from_params(params)
    try:
        backup = take_backup(run_command, pg_dump, conn, params['login_db'], params['dest'], params['prefix'],
                             params['format'], label=label, mode=mode, tmpdir=module.tmpdir)
    except BackupError as exc:
        result.update(changed=False, stage=exc.stage,
                      command=dump_argv(pg_dump, conn, params['login_db'], params['format'], planned['path']))
        module.fail_json(msg=exc.message, **result)
    except OSError as exc:
        module.fail_json(msg='backup into %s failed: %s' % (params['dest'], exc), changed=False, stage='dump')
    result.update(backup)
    if params['hmac_key']:
        result['hmac'] = backup_hmac(params['hmac_key'], backup['name'], backup['sha256'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
