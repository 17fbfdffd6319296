#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: postgres_maintenance
short_description: The runbooks' PostgreSQL remedies - end stuck sessions, vacuum, add an index
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - O(action=terminate_idle_in_transaction) ends (C(pg_terminate_backend)) the sessions of O(login_db) that have been
    C(idle in transaction) for at least O(older_than) seconds (runbook P1 "Database Connection Failures").
  - O(action=vacuum_analyze) runs C(VACUUM ANALYZE) on O(tables), or on the whole O(login_db) when empty; O(action=vacuum_full)
    runs C(VACUUM FULL) the same way, which locks each table exclusively while it is rewritten (runbook P2 "High
    Memory Usage" and "Slow Database Queries").
  - O(action=create_index) runs C(CREATE INDEX CONCURRENTLY) for O(index) unless an index of that name exists
    (runbook P2 "Slow Database Queries").
  - These are destructive or locking operations; the playbooks of this collection call them only when the operator
    confirmed.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._postgres
  - tgops.runbooks._postgres.login_db
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module reads what it would act on (the sessions, the index's existence) and changes
        nothing; vacuum actions are predicted as changes.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - V(terminate_idle_in_transaction) and V(create_index) change nothing when nothing qualifies or the index
        exists. Vacuum actions act, and report a change, every time.
options:
  action:
    description:
      - What to do.
    type: str
    required: true
    choices: [terminate_idle_in_transaction, vacuum_analyze, vacuum_full, create_index]
  older_than:
    description:
      - With O(action=terminate_idle_in_transaction), the minimum seconds a session has been idle in a transaction.
        Fractions allowed.
    type: float
    default: 300
  tables:
    description:
      - With the vacuum actions, the tables (optionally C(schema.table)); empty means the whole database.
    type: list
    elements: str
    default: []
  index:
    description:
      - With O(action=create_index), the index to create.
    type: dict
    suboptions:
      name:
        description: Index name (its existence is what makes the action idempotent).
        type: str
        required: true
      table:
        description: Table, optionally C(schema.table).
        type: str
        required: true
      columns:
        description: Column names, in index order.
        type: list
        elements: str
        required: true
seealso:
  - module: tgops.runbooks.postgres_activity_info
"""

EXAMPLES = r"""
- name: End sessions idle in a transaction for 10 minutes or more
  tgops.runbooks.postgres_maintenance:
    login_host: 127.0.0.1
    login_password: "{{ vault_tgquiz_postgres_password }}"
    login_db: tgquiznft_prod
    action: terminate_idle_in_transaction
    older_than: 600

- name: The runbook's example index
  tgops.runbooks.postgres_maintenance:
    login_host: 127.0.0.1
    login_password: "{{ vault_tgquiz_postgres_password }}"
    login_db: tgquiznft_prod
    action: create_index
    index:
      name: idx_quiz_results_user_id
      table: quiz_results
      columns: [user_id]
"""

RETURN = r"""
terminated:
  description: With O(action=terminate_idle_in_transaction), the sessions ended (or, in check mode, that would be).
  returned: success
  type: list
  elements: dict
  contains:
    pid:
      description: Backend process id.
      type: int
    application:
      description: C(application_name) of the session.
      type: str
    age_seconds:
      description: Seconds the session had been idle in its transaction.
      type: int
statements:
  description: The SQL statements run (or, in check mode, that would be run); they never contain a secret.
  returned: success
  type: list
  elements: str
  sample: ["VACUUM (ANALYZE) \"public\".\"quiz_results\""]
"""

from ansible_collections.tgops.runbooks.plugins.module_utils._module import seconds_problem, seconds_text
from ansible_collections.tgops.runbooks.plugins.module_utils._pg_query import PgQueryError, PgSession
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import (
    postgres_module,
    quote_ident,
)

IDLE_SQL = """
SELECT pid, application_name AS application,
       floor(extract(epoch FROM clock_timestamp() - state_change))::int AS age_seconds
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
  AND state LIKE 'idle in transaction%' AND state_change <= clock_timestamp() - make_interval(secs => {age})
ORDER BY state_change
"""

# The victims are chosen first (MATERIALIZED), so pg_terminate_backend() never runs for a row that a
# later-evaluated condition would have excluded.
TERMINATE_SQL = """
WITH victims AS MATERIALIZED (""" + IDLE_SQL + """)
SELECT pid, application, age_seconds FROM victims WHERE pg_terminate_backend(pid)
"""


def check_name(module, what, name):
    if not name or len(name) > 63 or '\x00' in name:
        module.fail_json(msg='%s must be 1-63 characters without NUL, got %r' % (what, name))


def vacuum_statements(full, tables):
    option = '(FULL, ANALYZE)' if full else '(ANALYZE)'
    if not tables:
        return ['VACUUM %s' % option]
    return ['VACUUM %s %s' % (option, quote_ident(t)) for t in tables]


def ident(name):
    """One identifier, always quoted (a column or index name may contain a dot)."""
    return '"%s"' % name.replace('"', '""')


def index_statement(index):
    return 'CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON %s (%s)' % (
        ident(index['name']), quote_ident(index['table']), ', '.join(ident(c) for c in index['columns']))


def main():
    module = postgres_module(dict(
        action=dict(type='str', required=True,
                    choices=['terminate_idle_in_transaction', 'vacuum_analyze', 'vacuum_full', 'create_index']),
        older_than=dict(type='float', default=300),
        tables=dict(type='list', elements='str', default=[]),
        index=dict(type='dict', options=dict(
            name=dict(type='str', required=True),
            table=dict(type='str', required=True),
            columns=dict(type='list', elements='str', required=True),
        )),
    ), login_db_aliases=['login_db_name'], required_if=[('action', 'create_index', ['index'])])
    params = module.params
    action = params['action']
    result = dict(changed=False, terminated=[], statements=[])
    psql = module.get_bin_path('psql', required=True)
    session = PgSession(module.run_command, psql, params, params['login_db'])
    try:
        if action == 'terminate_idle_in_transaction':
            problem = seconds_problem('older_than', params['older_than'])
            if problem:
                module.fail_json(msg=problem)
            sql = (IDLE_SQL if module.check_mode else TERMINATE_SQL).format(age=params['older_than'])
            result['terminated'] = session.query_rows(sql)
            result['statements'] = ['SELECT pg_terminate_backend(pid) for %d session(s) idle in transaction '
                                    'for %s s or more' % (len(result['terminated']),
                                                          seconds_text(params['older_than']))]
            result['changed'] = bool(result['terminated'])
        elif action in ('vacuum_analyze', 'vacuum_full'):
            for table in params['tables']:
                for part in table.split('.', 1):
                    check_name(module, 'table name', part)
            result['statements'] = vacuum_statements(action == 'vacuum_full', params['tables'])
            if not module.check_mode:
                for statement in result['statements']:
                    session.execute(statement + ';\n')
            result['changed'] = True
        else:
            index = params['index']
            check_name(module, 'index name', index['name'])
            for part in index['table'].split('.', 1):
                check_name(module, 'table name', part)
            if not index['columns']:
                module.fail_json(msg='index.columns must name at least one column')
            for column in index['columns']:
                check_name(module, 'column name', column)
            exists = session.query_json("SELECT to_json(count(*) > 0) FROM pg_class WHERE relkind IN ('i', 'I') "
                                        "AND relname = '%s'" % index['name'].replace("'", "''"))
            if not exists:
                result['statements'] = [index_statement(index)]
                if not module.check_mode:
                    session.execute(result['statements'][0] + ';\n')
                result['changed'] = True
    except PgQueryError as exc:
        module.fail_json(msg='%s on database %s failed: %s' % (action, params['login_db'], exc.msg), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
