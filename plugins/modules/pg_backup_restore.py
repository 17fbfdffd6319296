#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: pg_backup_restore
short_description: Replace a PostgreSQL database with the content of a backup, stopping at the first error
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - The runbooks' restore - drop the database, create it again, restore the backup into it - with exit-on-error
    semantics the runbooks' commands lack.
  - O(login_db) is the database replaced; the module connects to O(maintenance_db) to drop and create it.
  - C(DROP DATABASE ... WITH (FORCE)) (ends the sessions still connected; PostgreSQL 13 or later), then
    C(CREATE DATABASE ... TEMPLATE template0 OWNER) O(owner), then C(pg_restore --exit-on-error) (custom archives)
    or C(psql -X -v ON_ERROR_STOP=1) (plain SQL), both C(--single-transaction) by default so that a failed restore
    leaves an empty database, never a half-restored one.
  - Plain SQL (C(.sql) and C(.sql.gz)) never reaches psql as a file - psql runs any meta-command in a script
    (C(\! command) runs a shell command as the database client). The module judges the whole dump with the lexer of
    M(tgops.runbooks.backup_verify) before the database is dropped - a psql meta-command other than pg_dump's own
    C(\restrict) pair fails with its line and name (RV(stage=content), RV(dropped=false)) - then feeds psql, through
    a private named pipe, only the bytes that lexer judged (decompressed for a C(.sql.gz)), starting with
    C(\restrict) and a fresh random key the dump cannot end, so that psql itself refuses any meta-command.
  - C(\restrict) needs psql 13.22, 14.19, 15.14, 16.10, 17.6, 18 or later (the releases of August 2025), read from
    C(psql --version). With an older psql (or one whose version cannot be read) the stream is still only the judged
    bytes, but without C(\restrict), and the module warns that this psql is older than those releases - upgrade the
    client (see O(bin_dir)).
  - With O(expected_row_counts) (the C(row_counts) M(tgops.runbooks.backup_verify) read from the backup), counts
    the rows of those tables afterwards and fails when any differs.
  - The format is read from the content (C(PGDMP) magic, gzip magic, SQL text), not from the name.
  - The backup is opened without following a symbolic link and must be a regular file. With O(backup_dir), O(path)
    must be a file name in that directory - no C(/), no C(..), no absolute path.
  - The client never reads O(path) itself - the module first copies it into a private directory (mode 0700, in the
    remote temporary directory) while computing its SHA-256, and restores that copy. With O(expected_sha256) (the
    C(sha256) its verification returned) a file that changed since it was verified is refused before the database
    is dropped (RV(stage=pin), RV(dropped=false)). The copy needs free space for one backup and is removed at the end.
  - With O(hmac_key) and O(expected_hmac) (an off-site copy), the HMAC-SHA256 of the file name and O(expected_sha256)
    under O(hmac_key) must equal O(expected_hmac) before anything else reads the file (RV(stage=authenticate)).
    M(tgops.runbooks.pg_backup) computes that HMAC when the backup is taken.
  - On failure RV(stage) names the step and RV(dropped) says whether the database had already been dropped -
    then the caller must restore something (the C(tgops.runbooks.restore) role restores its safety backup).
  - Verify the backup first (M(tgops.runbooks.backup_verify) with C(restore_test=true)); this module does not.
  - The password reaches the client programs in a private libpq password file (mode 0600, C(PGPASSFILE)), never
    on their command line or in their environment.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._postgres
  - tgops.runbooks._postgres.login_db_name
  - tgops.runbooks._postgres.maintenance_db
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module checks the file (name, type, HMAC, every byte against O(expected_sha256)), reads its
        format, judges a plain dump's content (RV(stage=content)), returns its SHA-256 and the commands it would
        run (RV(commands)), and changes nothing. The
        C(tgops.runbooks.restore) role runs it so first, to pin the backup before verifying it.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - A restore is an action; every run drops and restores the database and reports RV(ignore:changed=true).
options:
  path:
    description:
      - The backup file - a custom archive (C(.dump)), plain SQL (C(.sql)) or gzipped plain SQL (C(.sql.gz)).
      - With O(backup_dir), its file name in that directory.
    type: path
    required: true
  backup_dir:
    description:
      - The backup directory. When set, O(path) must be a plain file name in it.
    type: path
  expected_sha256:
    description:
      - SHA-256 the backup must have (64 hexadecimal digits), normally the C(sha256) M(tgops.runbooks.backup_verify)
        returned. Checked on the private copy the restore reads, before the database is dropped.
    type: str
  hmac_key:
    description:
      - Secret key of the off-site backups' HMAC (a vault secret), used with O(expected_hmac).
      - If not set, the environment variable E(TGOPS_BACKUP_HMAC_KEY) is used.
    type: str
  expected_hmac:
    description:
      - The HMAC-SHA256 recorded with the off-site copy (its C(hmac-sha256) metadata). When set (even empty), the
        backup is authenticated - it requires O(hmac_key) and O(expected_sha256).
    type: str
  owner:
    description:
      - Owner of the re-created database. Defaults to O(login_user).
    type: str
  single_transaction:
    description:
      - Restore in one transaction (C(--single-transaction)).
    type: bool
    default: true
  no_owner:
    description:
      - Custom archives only - skip the archive's ownership commands (C(pg_restore --no-owner)), for a backup taken
        where other roles own the objects. By default ownership is restored as it was.
    type: bool
    default: false
  expected_row_counts:
    description:
      - Table names mapped to the row count each must have after the restore.
    type: dict
    default: {}
  bin_dir:
    description:
      - Directory of C(psql) and C(pg_restore) when they are not on E(PATH).
    type: path
seealso:
  - module: tgops.runbooks.backup_verify
  - module: tgops.runbooks.pg_backup
"""

EXAMPLES = r"""
- name: Restore a tgquiz backup (the runbook's "Database Restore", steps 2 and 3)
  tgops.runbooks.pg_backup_restore:
    login_db: tgquiznft_prod
    path: /backup/backup_20250120_143000.dump
    login_host: 127.0.0.1
    login_port: 15432
    login_user: postgres
    login_password: "{{ vault_tgquiz_postgres_password }}"
    expected_row_counts:
      public.users: 200
      public.quiz_results: 1000
  register: restored

- name: Pin the off-site copy just downloaded - HMAC, then every byte (check mode, nothing restored)
  tgops.runbooks.pg_backup_restore:
    login_db: toogoodtogo
    backup_dir: /root/.ansible/tmp/download
    path: toogoodtogo_20250120_030000.sql.gz
    expected_sha256: "{{ s3_head.object_info[0].object_data.metadata.sha256 }}"
    expected_hmac: "{{ s3_head.object_info[0].object_data.metadata['hmac-sha256'] }}"
    hmac_key: "{{ vault_backup_hmac_key }}"
  check_mode: true
  register: pinned
"""

RETURN = r"""
format:
  description: C(custom), C(plain) or C(plain_gz), read from the file.
  returned: when the file could be read
  type: str
path:
  description: The backup (O(backup_dir) joined with O(path)).
  returned: always
  type: str
sha256:
  description: SHA-256 of the bytes checked (check mode) or restored.
  returned: when the file could be read
  type: str
size:
  description: Size of the backup in bytes.
  returned: when the file could be read
  type: int
commands:
  description:
    - The commands run (argv lists), or in check mode, the commands a real run would run. They carry no password.
  returned: always
  type: list
  elements: list
row_counts:
  description: Rows per table of O(expected_row_counts) after the restore.
  returned: always
  type: dict
  sample: {public.users: 200}
dropped:
  description: Whether the database was dropped (on failure, whether it must be restored from elsewhere).
  returned: always
  type: bool
stage:
  description:
    - On failure, the step that failed - C(name) (not a regular file in the backup directory), C(authenticate)
      (HMAC), C(pin) (not the expected bytes), C(format), C(content) (a plain dump holds a psql meta-command or is
      incomplete; nothing was touched), C(drop), C(create), C(restore), C(count) or C(verify).
  returned: failure
  type: str
duration_seconds:
  description: Time taken by the restore and the counts.
  returned: success
  type: float
"""

import os

from ansible.module_utils.basic import env_fallback

from ansible_collections.tgops.runbooks.plugins.module_utils._backup_restore import vetted_source
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_file import BackupCheckError
from ansible_collections.tgops.runbooks.plugins.module_utils._pg_backup import (
    BackupError,
    check_backup_name,
    detect_format,
    pin_backup,
    restore_database,
    restore_plan,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import (
    conn_from_params,
    postgres_module,
)


def main():
    module = postgres_module(dict(
        path=dict(type='path', required=True),
        backup_dir=dict(type='path'),
        expected_sha256=dict(type='str'),
        hmac_key=dict(type='str', no_log=True, fallback=(env_fallback, ['TGOPS_BACKUP_HMAC_KEY'])),
        expected_hmac=dict(type='str'),
        owner=dict(type='str'),
        single_transaction=dict(type='bool', default=True),
        no_owner=dict(type='bool', default=False),
        expected_row_counts=dict(type='dict', default={}),
        bin_dir=dict(type='path'),
    ), login_db_aliases=['name'], maintenance_db=True)
    params = module.params
    expected = {}
    for table, value in params['expected_row_counts'].items():
        try:
            expected[table] = int(value)
        except (TypeError, ValueError):
            module.fail_json(msg='expected_row_counts: %s needs an integer, got %r' % (table, value))
    owner = params['owner'] or params['login_user']
    conn = conn_from_params(params)
    path = params['path']
    result = dict(changed=False, commands=[], row_counts={}, dropped=False, path=path)
    if params['backup_dir']:
        problem = check_backup_name(path)
        if problem:
            module.fail_json(msg='backup %s' % problem, stage='name', **result)
        path = result['path'] = os.path.join(params['backup_dir'], path)
    authenticate = params['expected_hmac'] is not None
    if authenticate and not params['expected_sha256']:
        module.fail_json(msg='expected_hmac authenticates expected_sha256: give it too', stage='authenticate',
                         **result)
    if not os.path.lexists(path):
        module.fail_json(msg='backup %s does not exist' % path, stage='format', **result)
    if module.check_mode:
        try:
            pinned = pin_backup(path, params['expected_sha256'], params['hmac_key'] if authenticate else None,
                                params['expected_hmac'] if authenticate else None)
            fmt = detect_format(path)
        except BackupError as exc:
            module.fail_json(msg='refusing %s: %s' % (path, exc.message), stage=exc.stage, **result)
        except (IOError, OSError) as exc:
            module.fail_json(msg='cannot read %s: %s' % (path, exc), stage='pin', **result)
        result.update(format=fmt, sha256=pinned['sha256'], size=pinned['size'])
        if fmt != 'custom':
            try:
                for dummy in vetted_source(path, False):
                    pass
            except BackupCheckError as exc:
                module.fail_json(msg='refusing %s: it cannot be handed to psql: %s' % (path, exc.message),
                                 stage='content', **result)
        bins = {'psql': 'psql', 'pg_restore': 'pg_restore'}
        steps = restore_plan(bins, conn, params['login_db'], owner, fmt, path, params['maintenance_db'],
                             params['single_transaction'], params['no_owner'])
        result.update(changed=True, commands=[argv for _stage, argv in steps])
        module.exit_json(**result)
    if authenticate:
        try:
            pin_backup(path, params['expected_sha256'], params['hmac_key'], params['expected_hmac'])
        except BackupError as exc:
            module.fail_json(msg='refusing %s: %s (the database was not touched)' % (path, exc.message),
                             stage=exc.stage, **result)
    try:
        fmt = detect_format(path)  # which client it takes; the restore reads the format of its private copy
    except (BackupError, IOError, OSError) as exc:
        module.fail_json(msg=getattr(exc, 'message', str(exc)), stage='format', **result)
    opt_dirs = [params['bin_dir']] if params['bin_dir'] else []
    bins = {'psql': module.get_bin_path('psql', required=True, opt_dirs=opt_dirs),
            'pg_restore': module.get_bin_path('pg_restore', required=fmt == 'custom', opt_dirs=opt_dirs)}

    def run_command(argv, environ_update=None):
        return module.run_command(argv, environ_update=environ_update)
    try:
        report = restore_database(run_command, bins, conn, params['login_db'], path, owner=owner,
                                  maintenance_db=params['maintenance_db'],
                                  single_transaction=params['single_transaction'], no_owner=params['no_owner'],
                                  expected_row_counts=expected, tmpdir=module.tmpdir,
                                  expected_sha256=params['expected_sha256'], plain_source=vetted_source)
    except BackupError as exc:
        for warning in (exc.details.get('report') or {}).get('warnings') or []:
            module.warn(warning)
        report = exc.details.get('report') or {}
        result.update(changed=bool(exc.details.get('dropped')), dropped=bool(exc.details.get('dropped')),
                      commands=report.get('commands', []), row_counts=report.get('row_counts', {}), stage=exc.stage)
        for key in ('format', 'sha256', 'size'):
            if report.get(key) is not None:
                result[key] = report[key]
        module.fail_json(msg='restore of %s into %s failed at %s: %s%s' % (
            path, params['login_db'], exc.stage, exc.message,
            ' (the database was dropped)' if result['dropped'] else ' (the database was not touched)'), **result)
    for warning in report.pop('warnings', []):
        module.warn(warning)
    result.update(changed=True, **report)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
