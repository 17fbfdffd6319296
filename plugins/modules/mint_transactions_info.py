#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: mint_transactions_info
short_description: Read the NFT mint queue of the tgquiz platform
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Reads the C(mint_transactions) table of O(login_db) (runbook P1 "NFT Minting Failures", step 4) - rows per status, the pending
    rows older than O(older_than) seconds (stuck) and the most recent failures with their error text.
  - Returns RV(findings) for stuck and recently failed mints.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
  - tgops.runbooks._postgres
  - tgops.runbooks._postgres.login_db
options:
  table:
    description:
      - The mint table, optionally C(schema.table); it needs the columns C(id), C(status), C(error) and
        C(created_at).
    type: str
    default: mint_transactions
  older_than:
    description:
      - Seconds after which a pending mint is stuck (the runbook's hour). Fractions allowed.
    type: float
    default: 3600
  recent:
    description:
      - How many of the most recent failed mints (and stuck ids) to return.
    type: int
    default: 10
  failed_since:
    description:
      - Failed mints created within this many seconds are counted in RV(recent_failed_count) and are a finding.
        Fractions allowed.
    type: float
    default: 3600
seealso:
  - module: tgops.runbooks.mint_transactions
"""

EXAMPLES = r"""
- name: Read the mint queue
  tgops.runbooks.mint_transactions_info:
    login_host: 127.0.0.1
    login_password: "{{ vault_tgquiz_postgres_password }}"
    login_db: tgquiznft_prod
  register: mints

- name: Say how many mints are stuck
  ansible.builtin.debug:
    msg: "{{ mints.stuck_count }} stuck, oldest {{ mints.oldest_stuck_seconds }} s"
"""

RETURN = r"""
by_status:
  description: Rows per status.
  returned: success
  type: dict
  sample: {"completed": 120, "failed": 2, "pending": 3}
pending_count:
  description: Pending rows, stuck or not.
  returned: success
  type: int
  sample: 3
stuck_count:
  description: Pending rows created more than O(older_than) seconds ago.
  returned: success
  type: int
  sample: 2
stuck_ids:
  description: Ids of the oldest stuck rows (at most O(recent)).
  returned: success
  type: list
  elements: int
  sample: [17, 18]
oldest_stuck_seconds:
  description: Age of the oldest stuck row in seconds, V(null) when none is stuck.
  returned: success
  type: int
  sample: 7260
recent_failed_count:
  description: Failed rows created within O(failed_since) seconds.
  returned: success
  type: int
  sample: 1
recent_failures:
  description: The O(recent) most recent failed rows.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Row id.
      type: int
    created_at:
      description: When the mint was requested, ISO 8601.
      type: str
    error:
      description: The error the platform recorded, at most 200 characters.
      type: str
passed:
  description: Whether the queue is sound (RV(findings) is empty); the collection's verdict key.
  returned: success
  type: bool
  sample: false
findings:
  description: What is wrong, one sentence each.
  returned: success
  type: list
  elements: str
  sample: ["2 mint transaction(s) pending for more than 3600 s (oldest 7260 s)"]
"""

from ansible_collections.tgops.runbooks.plugins.module_utils._module import seconds_problem, seconds_text
from ansible_collections.tgops.runbooks.plugins.module_utils._pg_query import PgQueryError, PgSession, redact_text
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import (
    postgres_module,
    quote_ident,
)

QUEUE_SQL = """
SELECT json_build_object(
  'exists', to_regclass('{regclass}') IS NOT NULL
)
"""

STATS_SQL = """
SELECT json_build_object(
  'by_status', (SELECT coalesce(json_object_agg(status, n), '{{}}'::json)
                FROM (SELECT status, count(*) AS n FROM {table} GROUP BY status) s),
  'stuck_count', (SELECT count(*) FROM {table}
                  WHERE status = 'pending' AND created_at < now() - make_interval(secs => {stuck})),
  'stuck_ids', (SELECT coalesce(json_agg(id), '[]'::json) FROM (SELECT id FROM {table}
                WHERE status = 'pending' AND created_at < now() - make_interval(secs => {stuck})
                ORDER BY created_at, id LIMIT {recent}) s),
  'oldest_stuck_seconds', (SELECT floor(extract(epoch FROM now() - min(created_at)))::int FROM {table}
                           WHERE status = 'pending' AND created_at < now() - make_interval(secs => {stuck})),
  'recent_failed_count', (SELECT count(*) FROM {table}
                          WHERE status = 'failed' AND created_at >= now() - make_interval(secs => {since})),
  'recent_failures', (SELECT coalesce(json_agg(f), '[]'::json) FROM (SELECT id, created_at, left(error, 200) AS error
                      FROM {table} WHERE status = 'failed' ORDER BY created_at DESC, id DESC LIMIT {recent}) f)
)
"""


def mint_findings(stats, older_than, failed_since):
    findings = []
    if stats['stuck_count']:
        findings.append('%d mint transaction(s) pending for more than %s s (oldest %s s)'
                        % (stats['stuck_count'], seconds_text(older_than), stats['oldest_stuck_seconds']))
    if stats['recent_failed_count']:
        last = stats['recent_failures'][0].get('error') if stats['recent_failures'] else None
        findings.append('%d mint transaction(s) failed in the last %s s%s'
                        % (stats['recent_failed_count'], seconds_text(failed_since),
                           (' (last error: %s)' % last) if last else ''))
    return findings


def main():
    module = postgres_module(dict(
        table=dict(type='str', default='mint_transactions'),
        older_than=dict(type='float', default=3600),
        recent=dict(type='int', default=10),
        failed_since=dict(type='float', default=3600),
    ), login_db_aliases=['login_db_name'])
    params = module.params
    for name in ('older_than', 'failed_since'):
        problem = seconds_problem(name, params[name])
        if problem:
            module.fail_json(msg=problem)
    if not 1 <= params['recent'] <= 1000:
        module.fail_json(msg='recent must be between 1 and 1000, got %d' % params['recent'])
    table = quote_ident(params['table'])
    session = PgSession(module.run_command, module.get_bin_path('psql', required=True), params, params['login_db'])
    try:
        exists = session.query_json(QUEUE_SQL.format(regclass=table.replace("'", "''")))['exists']
        if not exists:
            module.fail_json(msg='table %s does not exist in database %s' % (params['table'], params['login_db']))
        stats = session.query_json(STATS_SQL.format(table=table, stuck=params['older_than'],
                                                    since=params['failed_since'], recent=params['recent']))
    except PgQueryError as exc:
        module.fail_json(msg='cannot read %s in database %s: %s' % (params['table'], params['login_db'], exc.msg))
    for row in stats['recent_failures']:
        row['error'] = redact_text(row.get('error'), session.secrets)
    stats['pending_count'] = int(stats['by_status'].get('pending', 0))
    stats['findings'] = mint_findings(stats, params['older_than'], params['failed_since'])
    stats['passed'] = not stats['findings']
    module.exit_json(changed=False, **stats)


if __name__ == '__main__':
    main()
