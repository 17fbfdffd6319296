#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: postgres_activity_info
short_description: Read a PostgreSQL server's connections, sizes, slow statements and scan statistics
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Reads, in one C(psql) call, what the runbooks' P1 "Database Connection Failures" and P2 "High Memory Usage"
    and "Slow Database Queries" sections look at - connections against C(max_connections)
    (C(pg_stat_activity)), sessions idle in a transaction, the database size, the largest tables with their
    scan and dead-row counts - and, when the C(pg_stat_statements) extension is installed in O(login_db), the
    statements with the highest mean execution time.
  - Turns them into verdicts with the thresholds below (RV(findings), RV(connections_exhausted),
    RV(idle_in_transaction_over_age), RV(slow_statements), RV(seq_scan_tables), RV(vacuum_tables)).
  - Needs the C(psql) client program on the host (the PostgreSQL client package the backups need anyway).
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
  - tgops.runbooks._postgres
  - tgops.runbooks._postgres.login_db
options:
  connections_warn_percent:
    description:
      - Connection use, in percent of the connections an application role may open (C(max_connections) less
        C(superuser_reserved_connections)), at or above which RV(findings) warns.
      - At 100 percent RV(connections_exhausted) is V(true).
      - A finite number, 0 or more; fractions allowed.
    type: float
    default: 80
  idle_in_transaction_age:
    description:
      - Seconds a session may stay C(idle in transaction) before it is listed in RV(idle_in_transaction_over_age).
        Fractions allowed.
    type: float
    default: 300
  slow_query_mean_ms:
    description:
      - Mean execution time in milliseconds at or above which a statement is slow.
    type: int
    default: 1000
  seq_scan_min_rows:
    description:
      - A table of at least this many live rows that is read more often by sequential than by index scans is
        reported as a missing-index sign; the same number of dead rows is the minimum for a vacuum finding.
    type: int
    default: 10000
  dead_rows_percent:
    description:
      - Dead rows, in percent of live rows, at or above which a table is listed in RV(vacuum_tables).
      - A finite number, 0 or more (over 100 when dead rows outnumber live ones); fractions allowed.
    type: float
    default: 20
  database_size_warn_mb:
    description:
      - A database of at least this many megabytes is a finding; V(0) turns the check off.
    type: int
    default: 0
  top:
    description:
      - How many tables (largest first) and statements (slowest first) to return.
    type: int
    default: 10
notes:
  - Statement texts come from C(pg_stat_statements), which keeps the literals of utility statements; password
    literals (C(PASSWORD '...')) and O(login_password) are masked in them.
  - Connections are counted server-wide (C(max_connections) is a server limit); this module's own connection is
    not counted.
seealso:
  - module: tgops.runbooks.postgres_maintenance
"""

EXAMPLES = r"""
- name: Read the database's connections and statistics
  tgops.runbooks.postgres_activity_info:
    login_host: 127.0.0.1
    login_port: 5432
    login_user: postgres
    login_password: "{{ vault_tgquiz_postgres_password }}"
    login_db: tgquiznft_prod
    idle_in_transaction_age: 600
  register: db_activity

- name: Say what is wrong
  ansible.builtin.debug:
    msg: "{{ db_activity.findings }}"
"""

RETURN = r"""
server_version:
  description: The server's version.
  returned: success
  type: str
  sample: "15.8"
max_connections:
  description: The server's C(max_connections).
  returned: success
  type: int
  sample: 100
superuser_reserved_connections:
  description: Slots only superusers may use.
  returned: success
  type: int
  sample: 3
connections:
  description: Client connections open on the server, this module's excluded.
  returned: success
  type: int
  sample: 12
connections_by_state:
  description: Client connections per C(state) (C(active), C(idle), C(idle in transaction), ...).
  returned: success
  type: dict
  sample: {"active": 1, "idle": 10, "idle in transaction": 1}
connections_by_application:
  description: Client connections per C(application_name) (empty name as C("")).
  returned: success
  type: dict
  sample: {"": 10, "psql": 1}
connections_percent:
  description: Connections in percent of the usable ones (C(max_connections) - C(superuser_reserved_connections)).
  returned: success
  type: float
  sample: 12.4
usable_connections:
  description: C(max_connections) less C(superuser_reserved_connections).
  returned: success
  type: int
  sample: 97
connections_exhausted:
  description: Whether an application role can open no more connections.
  returned: success
  type: bool
  sample: false
idle_in_transaction:
  description: Every session idle in a transaction, oldest first.
  returned: success
  type: list
  elements: dict
  contains:
    pid:
      description: Backend process id.
      type: int
    database:
      description: Database of the session.
      type: str
    user:
      description: Role of the session.
      type: str
    application:
      description: C(application_name) of the session.
      type: str
    client_addr:
      description: Client address, V(null) for a Unix socket.
      type: str
    age_seconds:
      description: Seconds since the session entered that state.
      type: int
idle_in_transaction_over_age:
  description: The sessions of RV(idle_in_transaction) at least O(idle_in_transaction_age) seconds old.
  returned: success
  type: list
  elements: dict
database:
  description: The database read (O(login_db)).
  returned: success
  type: str
  sample: tgquiznft_prod
database_size_bytes:
  description: Size of O(login_db) in bytes.
  returned: success
  type: int
  sample: 8520383
tables:
  description: The O(top) largest tables of O(login_db), with their scan and row statistics.
  returned: success
  type: list
  elements: dict
  contains:
    schema:
      description: Schema name.
      type: str
    table:
      description: Table name.
      type: str
    total_bytes:
      description: Size including indexes and TOAST.
      type: int
    n_live_tup:
      description: Estimated live rows.
      type: int
    n_dead_tup:
      description: Estimated dead rows.
      type: int
    seq_scan:
      description: Sequential scans since the statistics were reset.
      type: int
    seq_tup_read:
      description: Rows read by sequential scans.
      type: int
    idx_scan:
      description: Index scans (V(null) for a table without indexes).
      type: int
    last_vacuum:
      description: Last manual or automatic vacuum, ISO 8601, or V(null).
      type: str
    last_analyze:
      description: Last manual or automatic analyze, ISO 8601, or V(null).
      type: str
pg_stat_statements:
  description: Whether the C(pg_stat_statements) extension is installed in O(login_db).
  returned: success
  type: bool
  sample: true
statements:
  description: The O(top) statements of O(login_db) with the highest mean execution time (empty without the extension).
  returned: success
  type: list
  elements: dict
  contains:
    queryid:
      description: Statement id, as text.
      type: str
    query:
      description: Normalised statement text, at most 500 characters, password literals masked.
      type: str
    calls:
      description: Times executed.
      type: int
    total_ms:
      description: Total execution time in milliseconds.
      type: float
    mean_ms:
      description: Mean execution time in milliseconds.
      type: float
    rows:
      description: Rows returned or affected in total.
      type: int
slow_statements:
  description: The statements of RV(statements) whose mean is at least O(slow_query_mean_ms).
  returned: success
  type: list
  elements: dict
seq_scan_tables:
  description: Tables of RV(tables) that show the missing-index sign (see O(seq_scan_min_rows)).
  returned: success
  type: list
  elements: dict
vacuum_tables:
  description: Tables of RV(tables) with many dead rows (see O(dead_rows_percent)).
  returned: success
  type: list
  elements: dict
passed:
  description: Whether nothing is wrong (RV(findings) is empty); the collection's verdict key.
  returned: success
  type: bool
  sample: false
findings:
  description: What is wrong, one sentence each; empty when nothing is.
  returned: success
  type: list
  elements: str
  sample: ["connections exhausted: 97 in use of 97 usable (max_connections 100)"]
findings_by_kind:
  description:
    - RV(findings) by what they are about, so a caller keeps the kinds it reports by key, never by their wording.
    - Every kind is always present, empty when nothing of it is wrong.
  returned: success
  type: dict
  version_added: 0.1.0
  contains:
    connections:
      description: Connections exhausted or over O(connections_warn_percent).
      type: list
      elements: str
    idle_in_transaction:
      description: Sessions idle in a transaction for O(idle_in_transaction_age) seconds or more.
      type: list
      elements: str
    slow_statements:
      description: RV(slow_statements), one sentence each.
      type: list
      elements: str
    seq_scan_tables:
      description: RV(seq_scan_tables), one sentence each.
      type: list
      elements: str
    vacuum_tables:
      description: RV(vacuum_tables), one sentence each.
      type: list
      elements: str
    database_size:
      description: The database at or over O(database_size_warn_mb).
      type: list
      elements: str
  sample: {connections: [], idle_in_transaction: [], slow_statements: [], seq_scan_tables: [], vacuum_tables: [],
           database_size: ["database toogoodtogo is 2100 MB (warning at 2048 MB)"]}
"""

import math

from ansible_collections.tgops.runbooks.plugins.module_utils._db_findings import analyse
from ansible_collections.tgops.runbooks.plugins.module_utils._module import seconds_problem
from ansible_collections.tgops.runbooks.plugins.module_utils._pg_query import PgQueryError, PgSession, redact_text
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import (
    postgres_module,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import shown

CLIENTS = "backend_type = 'client backend' AND pid <> pg_backend_pid()"

# The marker comment keeps this module's own statements out of the slow statement list.
MARKER = '/* tgops.runbooks postgres_activity_info */'

ACTIVITY_SQL = MARKER + """
SELECT json_build_object(
  'server_version', current_setting('server_version'),
  'server_version_num', current_setting('server_version_num')::int,
  'max_connections', current_setting('max_connections')::int,
  'superuser_reserved_connections', current_setting('superuser_reserved_connections')::int,
  'connections', (SELECT count(*) FROM pg_stat_activity WHERE {clients}),
  'connections_by_state', (SELECT coalesce(json_object_agg(s, n), '{{}}'::json) FROM
      (SELECT coalesce(state, 'unknown') AS s, count(*) AS n FROM pg_stat_activity WHERE {clients} GROUP BY 1) x),
  'connections_by_application', (SELECT coalesce(json_object_agg(a, n), '{{}}'::json) FROM
      (SELECT coalesce(application_name, '') AS a, count(*) AS n FROM pg_stat_activity WHERE {clients} GROUP BY 1) x),
  'idle_in_transaction', (SELECT coalesce(json_agg(json_build_object(
        'pid', pid, 'database', datname, 'user', usename, 'application', application_name,
        'client_addr', host(client_addr),
        'age_seconds', floor(extract(epoch FROM clock_timestamp() - state_change))::int)
      ORDER BY state_change), '[]'::json)
      FROM pg_stat_activity WHERE {clients} AND state LIKE 'idle in transaction%'),
  'database', current_database(),
  'database_size_bytes', pg_database_size(current_database()),
  'pg_stat_statements', to_regclass('pg_stat_statements') IS NOT NULL,
  'tables', (SELECT coalesce(json_agg(t), '[]'::json) FROM (
      SELECT schemaname AS schema, relname AS table, pg_total_relation_size(relid) AS total_bytes,
             n_live_tup, n_dead_tup, seq_scan, seq_tup_read, idx_scan,
             greatest(last_vacuum, last_autovacuum) AS last_vacuum,
             greatest(last_analyze, last_autoanalyze) AS last_analyze
      FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC, relname LIMIT {top}) t)
)
"""

# PostgreSQL 13 renamed total_time/mean_time to total_exec_time/mean_exec_time.
STATEMENTS_SQL = MARKER + """
SELECT s.queryid::text AS queryid, left(s.query, 500) AS query, s.calls,
       round(s.{total}::numeric, 1)::float AS total_ms, round(s.{mean}::numeric, 1)::float AS mean_ms, s.rows
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = current_database() AND s.query NOT LIKE '%tgops.runbooks postgres_activity_info%'
ORDER BY s.{mean} DESC LIMIT {top}
"""


def main():
    module = postgres_module(dict(
        connections_warn_percent=dict(type='float', default=80),
        idle_in_transaction_age=dict(type='float', default=300),
        slow_query_mean_ms=dict(type='int', default=1000),
        seq_scan_min_rows=dict(type='int', default=10000),
        dead_rows_percent=dict(type='float', default=20),
        database_size_warn_mb=dict(type='int', default=0),
        top=dict(type='int', default=10),
    ), login_db_aliases=['login_db_name'])
    params = module.params
    for name in ('connections_warn_percent', 'dead_rows_percent'):
        if not (math.isfinite(params[name]) and params[name] >= 0):
            module.fail_json(msg='%s must be a finite number, 0 or more, got %s' % (name, shown(params[name])))
    problem = seconds_problem('idle_in_transaction_age', params['idle_in_transaction_age'])
    if problem:
        module.fail_json(msg=problem)
    for name in ('slow_query_mean_ms', 'seq_scan_min_rows', 'database_size_warn_mb'):
        if params[name] < 0:
            module.fail_json(msg='%s must be 0 or more, got %d' % (name, params[name]))
    if not 1 <= params['top'] <= 1000:
        module.fail_json(msg='top must be between 1 and 1000, got %d' % params['top'])

    psql = module.get_bin_path('psql', required=True)
    session = PgSession(module.run_command, psql, params, params['login_db'])
    try:
        activity = session.query_json(ACTIVITY_SQL.format(clients=CLIENTS, top=params['top']))
        statements = []
        if activity.get('pg_stat_statements'):
            old = activity.get('server_version_num', 0) < 130000
            statements = session.query_rows(STATEMENTS_SQL.format(
                total='total_time' if old else 'total_exec_time', mean='mean_time' if old else 'mean_exec_time',
                top=params['top']))
    except PgQueryError as exc:
        module.fail_json(msg='cannot read the activity of database %s: %s' % (params['login_db'], exc.msg))
    for statement in statements:
        statement['query'] = redact_text(statement.get('query'), session.secrets)
    activity['statements'] = statements
    activity.pop('server_version_num', None)

    verdict = analyse(activity, params)
    result = dict(changed=False, **activity)
    result.update(verdict)
    result['passed'] = not result['findings']
    module.exit_json(**result)


if __name__ == '__main__':
    main()
