# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the database's numbers mean (private): the thresholds and verdicts of the P1 database and P2
memory / slow query runbook sections, as pure functions of the data postgres_activity_info reads."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tgops.runbooks.plugins.module_utils._module import seconds_text


def connection_usage(activity):
    """(connections, usable, percent): ``usable`` is max_connections less the superuser-reserved slots,
    the limit an application role hits (``remaining connection slots are reserved``)."""
    connections = int(activity.get('connections') or 0)
    usable = int(activity.get('max_connections') or 0) - int(activity.get('superuser_reserved_connections') or 0)
    usable = max(usable, 1)
    return connections, usable, round(connections * 100.0 / usable, 1)


def connection_findings(activity, warn_percent):
    """(findings, exhausted)."""
    connections, usable, percent = connection_usage(activity)
    exhausted = connections >= usable
    findings = []
    if exhausted:
        findings.append('connections exhausted: %d in use of %d usable (max_connections %s)'
                        % (connections, usable, activity.get('max_connections')))
    elif percent >= warn_percent:
        findings.append('connections at %s%%: %d in use of %d usable (warning at %g%%)'
                        % (percent, connections, usable, warn_percent))
    return findings, exhausted


def idle_in_transaction_over(sessions, max_age):
    """Sessions idle in a transaction for at least ``max_age`` seconds, oldest first."""
    over = [s for s in sessions if int(s.get('age_seconds') or 0) >= max_age]
    return sorted(over, key=lambda s: -int(s.get('age_seconds') or 0))


def idle_findings(over, max_age):
    if not over:
        return []
    apps = sorted(set(s.get('application') or '(no application_name)' for s in over))
    return ['%d session(s) idle in transaction for %s s or more (oldest %d s; %s)'
            % (len(over), seconds_text(max_age), int(over[0].get('age_seconds') or 0), ', '.join(apps))]


def slow_statements(statements, mean_ms):
    """Statements whose mean execution time is at least ``mean_ms``, slowest first."""
    slow = [s for s in statements if float(s.get('mean_ms') or 0) >= mean_ms]
    return sorted(slow, key=lambda s: -float(s.get('mean_ms') or 0))


def one_line(text, width=80):
    text = ' '.join((text or '').split())
    return text if len(text) <= width else text[:width - 3] + '...'


def slow_findings(slow, mean_ms):
    return ['slow statement: mean %s ms over %s call(s) (threshold %s ms): %s'
            % (s.get('mean_ms'), s.get('calls'), mean_ms, one_line(s.get('query'))) for s in slow]


def seq_scan_tables(tables, min_rows):
    """Tables of at least ``min_rows`` live rows read more often by sequential than by index scans:
    the runbook's "missing index" sign."""
    found = []
    for t in tables:
        rows = int(t.get('n_live_tup') or 0)
        seq = int(t.get('seq_scan') or 0)
        idx = int(t.get('idx_scan') or 0)
        if rows >= min_rows and seq > 0 and seq > idx:
            found.append(t)
    return sorted(found, key=lambda t: -int(t.get('seq_tup_read') or 0))


def seq_scan_findings(found):
    return ['table %s.%s (%s rows) read by %s sequential scan(s) and %s index scan(s): missing index?'
            % (t.get('schema'), t.get('table'), t.get('n_live_tup'), t.get('seq_scan'), t.get('idx_scan') or 0)
            for t in found]


def vacuum_tables(tables, min_rows, dead_percent):
    """Tables whose dead rows are at least ``dead_percent`` of the live ones (and ``min_rows`` or more)."""
    found = []
    for t in tables:
        live = int(t.get('n_live_tup') or 0)
        dead = int(t.get('n_dead_tup') or 0)
        if dead >= min_rows and dead * 100.0 >= dead_percent * max(live, 1):
            found.append(t)
    return found


def vacuum_findings(found):
    return ['table %s.%s has %s dead rows against %s live: VACUUM ANALYZE would reclaim them'
            % (t.get('schema'), t.get('table'), t.get('n_dead_tup'), t.get('n_live_tup')) for t in found]


def size_findings(database, size_bytes, warn_mb):
    if warn_mb and size_bytes is not None and size_bytes >= warn_mb * 1024 * 1024:
        return ['database %s is %d MB (warning at %d MB)' % (database, size_bytes // (1024 * 1024), warn_mb)]
    return []


# The kinds of finding, in the order of RV(findings).
FINDING_KINDS = ('connections', 'idle_in_transaction', 'slow_statements', 'seq_scan_tables', 'vacuum_tables',
                 'database_size')


def analyse(activity, thresholds):
    """Every verdict at once. ``thresholds``: connections_warn_percent, idle_in_transaction_age,
    slow_query_mean_ms, seq_scan_min_rows, dead_rows_percent, database_size_warn_mb."""
    connection, exhausted = connection_findings(activity, thresholds['connections_warn_percent'])
    idle = idle_in_transaction_over(activity.get('idle_in_transaction') or [], thresholds['idle_in_transaction_age'])
    slow = slow_statements(activity.get('statements') or [], thresholds['slow_query_mean_ms'])
    seq = seq_scan_tables(activity.get('tables') or [], thresholds['seq_scan_min_rows'])
    vac = vacuum_tables(activity.get('tables') or [], thresholds['seq_scan_min_rows'], thresholds['dead_rows_percent'])
    # Each runbook section reads its own kinds (P1 database: connections; P2 memory: database size; P2 slow
    # queries: all but connections) by key, never by the wording of a sentence.
    by_kind = dict(
        connections=connection,
        idle_in_transaction=idle_findings(idle, thresholds['idle_in_transaction_age']),
        slow_statements=slow_findings(slow, thresholds['slow_query_mean_ms']),
        seq_scan_tables=seq_scan_findings(seq),
        vacuum_tables=vacuum_findings(vac),
        database_size=size_findings(activity.get('database'), activity.get('database_size_bytes'),
                                    thresholds.get('database_size_warn_mb')),
    )
    findings = [line for kind in FINDING_KINDS for line in by_kind[kind]]
    connections, usable, percent = connection_usage(activity)
    return dict(findings=findings, findings_by_kind=by_kind, connections_exhausted=exhausted,
                connections_percent=percent, usable_connections=usable, idle_in_transaction_over_age=idle,
                slow_statements=slow, seq_scan_tables=seq, vacuum_tables=vac)
