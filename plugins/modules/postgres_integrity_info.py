#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: postgres_integrity_info
short_description: Read every table of a PostgreSQL database to find corrupted relations
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - The check of the toogoodtogo runbook's "Database Corruption" section made real - C(pg_isready) only says the
    server accepts connections, while a damaged page is found only when a backend reads it.
  - Lists the user tables (and materialized views) of O(login_db), then reads each in full in its own C(psql)
    call (sequential scan, every column detoasted), so one failing relation never hides the next; the error
    PostgreSQL gave (for example C(invalid page in block 0 of relation base/16384/16390)) is returned, the
    password masked.
  - When the C(amcheck) extension is installed in O(login_db), also checks every B-tree index with
    C(bt_index_check) (O(check_indexes)). Installing the extension is left to the operator.
  - Optionally lists the backups of O(backup_dir) newest first, so that a playbook can name the one it would
    restore in the same round trip.
  - Needs the C(psql) client program on the host.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
  - tgops.runbooks._postgres
  - tgops.runbooks._postgres.login_db
options:
  check_indexes:
    description:
      - Check B-tree indexes with C(bt_index_check) when the C(amcheck) extension is installed in O(login_db).
    type: bool
    default: true
  backup_dir:
    description:
      - Directory of the platform's backups on the host; RV(backups) lists them. Not read when omitted.
    type: path
  backup_pattern:
    description:
      - Shell-style pattern of the backup file names in O(backup_dir).
    type: str
    default: "*"
  backup_exclude_labels:
    description:
      - Backups whose name ends in C(_<label>) before the extension are left out of RV(backups) (safety backups
        taken of a database that may already have been damaged).
    type: list
    elements: str
    default: [pre_restore]
  fail_on_problem:
    description: Fail the task when RV(passed) is V(false); the message lists the corrupted relations.
    type: bool
    default: false
notes:
  - Pages already in PostgreSQL's shared buffers are read from memory; damage written to disk behind the server's
    back shows once they are evicted or the server restarts.
  - Reading every table costs a full scan of the database; run it when corruption is suspected, not every minute.
seealso:
  - module: tgops.runbooks.postgres_activity_info
  - module: tgops.runbooks.backup_verify
"""

EXAMPLES = r"""
- name: Read every table of the platform's database
  tgops.runbooks.postgres_integrity_info:
    login_host: 127.0.0.1
    login_port: 5432
    login_user: toogoodtogo
    login_password: "{{ vault_toogoodtogo_postgres_password }}"
    login_db: toogoodtogo
    backup_dir: /opt/backups/postgres
    backup_pattern: toogoodtogo_*.sql.gz
  register: integrity

- name: Say what is corrupted
  ansible.builtin.debug:
    msg: "{{ integrity.findings }}"
  when: not integrity.passed
"""

RETURN = r"""
passed:
  description: Whether every relation was read without error (and at least one user table exists).
  returned: success
  type: bool
  sample: false
corrupted:
  description: The relations that could not be read, as C(schema.name).
  returned: success
  type: list
  elements: str
  sample: ["public.orders"]
findings:
  description: One sentence per problem, with PostgreSQL's error; empty when RV(passed).
  returned: success
  type: list
  elements: str
  sample: ["table public.orders cannot be read (base/16384/16421): ERROR:  invalid page in block 0 of relation base/16384/16421"]
relations:
  description: Every relation checked.
  returned: success
  type: list
  elements: dict
  contains:
    schema:
      description: Schema name.
      type: str
    name:
      description: Relation name.
      type: str
    kind:
      description: C(table) or C(index).
      type: str
    file:
      description: Its file under the data directory (C(pg_relation_filepath)).
      type: str
    rows:
      description: Rows read (tables), V(null) when the read failed or for an index.
      type: int
    error:
      description: PostgreSQL's error, password masked; V(null) when the relation was read.
      type: str
tables_checked:
  description: How many tables were read.
  returned: success
  type: int
  sample: 5
indexes_checked:
  description: How many indexes were checked with amcheck (0 without the extension).
  returned: success
  type: int
  sample: 0
amcheck:
  description: Whether the C(amcheck) extension is installed in O(login_db).
  returned: success
  type: bool
  sample: false
database:
  description: The database read.
  returned: success
  type: str
  sample: toogoodtogo
server_version:
  description: The server's version.
  returned: success
  type: str
  sample: "15.18"
backups:
  description: The backups of O(backup_dir) matching O(backup_pattern), newest first, labels of
    O(backup_exclude_labels) left out.
  returned: when O(backup_dir) is set
  type: list
  elements: dict
  contains:
    name:
      description: File name.
      type: str
    path:
      description: Absolute path.
      type: str
    size:
      description: Bytes.
      type: int
    mtime:
      description: Modification time, seconds since the epoch.
      type: int
"""

import os

from ansible_collections.tgops.runbooks.plugins.module_utils._pg_integrity import check_database, judge, list_backups
from ansible_collections.tgops.runbooks.plugins.module_utils._pg_query import PgQueryError, PgSession
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import postgres_module


def main():
    module = postgres_module(dict(
        check_indexes=dict(type='bool', default=True),
        backup_dir=dict(type='path'),
        backup_pattern=dict(type='str', default='*'),
        backup_exclude_labels=dict(type='list', elements='str', default=['pre_restore']),
        fail_on_problem=dict(type='bool', default=False),
    ), login_db_aliases=['login_db_name'])
    params = module.params

    backups = None
    if params['backup_dir']:
        if not os.path.isdir(params['backup_dir']):
            module.fail_json(msg='backup_dir %s is not a directory' % params['backup_dir'])
        try:
            backups = list_backups(params['backup_dir'], params['backup_pattern'], params['backup_exclude_labels'])
        except OSError as exc:
            module.fail_json(msg='cannot list backup_dir %s: %s' % (params['backup_dir'], exc))

    psql = module.get_bin_path('psql', required=True)
    session = PgSession(module.run_command, psql, params, params['login_db'])
    try:
        checked = check_database(session, check_indexes=params['check_indexes'])
    except PgQueryError as exc:
        module.fail_json(msg='cannot list the relations of database %s: %s' % (params['login_db'], exc.msg))
    result = dict(changed=False, **checked)
    result.update(judge(checked))
    if backups is not None:
        result['backups'] = backups
    if params['fail_on_problem'] and not result['passed']:
        module.fail_json(msg='; '.join(result['findings']), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
