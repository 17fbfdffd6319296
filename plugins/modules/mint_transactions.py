#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: mint_transactions
short_description: Mark the tgquiz platform's stuck NFT mints as failed
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - The runbook's "Clean up stuck transactions" (P1 "NFT Minting Failures") - sets C(status = 'failed') on every
    C(mint_transactions) row of O(login_db) still C(pending) more than O(older_than) seconds after it was created, with
    O(error) as the reason, and returns how many and which rows it changed.
  - A failed mint is picked up again by the platform's C(retry_failed_mints) command.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._postgres
  - tgops.runbooks._postgres.login_db
attributes:
  check_mode:
    support: full
    details:
      - In check mode the rows are counted and nothing is updated.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A second run finds no stuck row and changes nothing (until another mint gets stuck).
options:
  table:
    description:
      - The mint table, optionally C(schema.table).
    type: str
    default: mint_transactions
  older_than:
    description:
      - Seconds after which a pending mint is stuck; the runbook uses one hour. Fractions allowed.
    type: float
    default: 3600
  error:
    description:
      - Reason written to the C(error) column of each row (when the table has one).
    type: str
    default: stuck in pending; marked failed by tgops.runbooks
seealso:
  - module: tgops.runbooks.mint_transactions_info
"""

EXAMPLES = r"""
- name: Fail mints pending for more than an hour
  tgops.runbooks.mint_transactions:
    login_host: 127.0.0.1
    login_password: "{{ vault_tgquiz_postgres_password }}"
    login_db: tgquiznft_prod
    older_than: 3600
  register: swept

- name: Say how many
  ansible.builtin.debug:
    msg: "{{ swept.count }} mint(s) marked failed"
"""

RETURN = r"""
count:
  description: Rows marked failed (in check mode, that would be).
  returned: success
  type: int
  sample: 2
ids:
  description: Their ids, oldest first.
  returned: success
  type: list
  elements: int
  sample: [17, 18]
"""

from ansible_collections.tgops.runbooks.plugins.module_utils._module import seconds_problem
from ansible_collections.tgops.runbooks.plugins.module_utils._pg_query import PgQueryError, PgSession
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import (
    postgres_module,
    quote_ident,
)

STUCK = "status = 'pending' AND created_at < now() - make_interval(secs => {age})"

SELECT_SQL = "SELECT id FROM {table} WHERE " + STUCK + " ORDER BY created_at, id"

# A data-modifying WITH must be the top-level statement, so it aggregates the ids itself.
UPDATE_SQL = ("WITH changed AS (UPDATE {table} SET status = 'failed', error = {error}, updated_at = now() WHERE "
              + STUCK + " RETURNING id, created_at) "
              "SELECT coalesce(json_agg(json_build_object('id', id) ORDER BY created_at, id), '[]'::json) FROM changed")


def sql_literal(text):
    return "'%s'" % text.replace("'", "''")


def main():
    module = postgres_module(dict(
        table=dict(type='str', default='mint_transactions'),
        older_than=dict(type='float', default=3600),
        error=dict(type='str', default='stuck in pending; marked failed by tgops.runbooks'),
    ), login_db_aliases=['login_db_name'])
    params = module.params
    problem = seconds_problem('older_than', params['older_than'])
    if problem:
        module.fail_json(msg=problem)
    if '\x00' in params['error']:
        module.fail_json(msg='error must not contain NUL characters')
    table = quote_ident(params['table'])
    session = PgSession(module.run_command, module.get_bin_path('psql', required=True), params, params['login_db'])
    values = dict(table=table, age=params['older_than'], error=sql_literal(params['error']))
    try:
        if module.check_mode:
            rows = session.query_rows(SELECT_SQL.format(**values))
        else:
            rows = session.query_json(UPDATE_SQL.format(**values)) or []
    except PgQueryError as exc:
        module.fail_json(msg='cannot mark stuck mints failed in %s (database %s): %s'
                         % (params['table'], params['login_db'], exc.msg))
    ids = [row['id'] for row in rows]
    module.exit_json(changed=bool(ids), count=len(ids), ids=ids)


if __name__ == '__main__':
    main()
