"""Verdicts of the P1 database and P2 slow-query runbook sections (plugins/module_utils/_db_findings.py)."""
from hypothesis import given, settings, strategies as st

from ansible_collections.tgops.runbooks.plugins.module_utils import _db_findings as f

THRESHOLDS = dict(connections_warn_percent=80, idle_in_transaction_age=300, slow_query_mean_ms=1000,
                  seq_scan_min_rows=10000, dead_rows_percent=20, database_size_warn_mb=0)


def activity(connections, max_connections=100, reserved=3, **extra):
    base = dict(connections=connections, max_connections=max_connections, superuser_reserved_connections=reserved,
                database='db', database_size_bytes=10 * 1024 * 1024)
    base.update(extra)
    return base


def test_usable_connections_leave_out_the_superuser_slots():
    assert f.connection_usage(activity(97)) == (97, 97, 100.0)
    findings, exhausted = f.connection_findings(activity(97), 80)
    assert exhausted is True
    assert findings == ['connections exhausted: 97 in use of 97 usable (max_connections 100)']


def test_one_below_the_usable_limit_is_a_warning_not_exhaustion():
    findings, exhausted = f.connection_findings(activity(96), 80)
    assert exhausted is False
    assert findings == ['connections at 99.0%: 96 in use of 97 usable (warning at 80%)']


def test_below_the_warning_nothing_is_said():
    assert f.connection_findings(activity(77), 80) == ([], False)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 500), st.integers(1, 500), st.integers(0, 20))
def test_exhausted_exactly_when_no_usable_slot_is_left(connections, max_connections, reserved):
    exhausted = f.connection_findings(activity(connections, max_connections, reserved), 80)[1]
    assert exhausted == (connections >= max(max_connections - reserved, 1))


def test_idle_sessions_at_the_age_qualify_oldest_first():
    sessions = [dict(pid=1, age_seconds=299, application='a'), dict(pid=2, age_seconds=300, application='b'),
                dict(pid=3, age_seconds=900, application='b')]
    over = f.idle_in_transaction_over(sessions, 300)
    assert [s['pid'] for s in over] == [3, 2]
    assert f.idle_findings(over, 300) == ['2 session(s) idle in transaction for 300 s or more (oldest 900 s; b)']
    assert f.idle_findings([], 300) == []


def test_slow_statements_sorted_and_shortened():
    statements = [dict(query='SELECT 1', mean_ms=5, calls=10),
                  dict(query='SELECT *\n  FROM quiz_results WHERE user_id = $1' + ' AND x = $2' * 10, mean_ms=2500.5, calls=3),
                  dict(query='UPDATE t', mean_ms=1000, calls=1)]
    slow = f.slow_statements(statements, 1000)
    assert [s['mean_ms'] for s in slow] == [2500.5, 1000]
    text = f.slow_findings(slow, 1000)[0]
    assert text.startswith('slow statement: mean 2500.5 ms over 3 call(s) (threshold 1000 ms): SELECT * FROM quiz_results')
    assert text.endswith('...') and '\n' not in text


def test_missing_index_sign_needs_rows_and_more_seq_than_index_scans():
    tables = [dict(schema='public', table='big', n_live_tup=50000, seq_scan=12, idx_scan=0, seq_tup_read=600000),
              dict(schema='public', table='indexed', n_live_tup=50000, seq_scan=2, idx_scan=900, seq_tup_read=100000),
              dict(schema='public', table='small', n_live_tup=50, seq_scan=99, idx_scan=None, seq_tup_read=4000),
              dict(schema='public', table='noindex', n_live_tup=20000, seq_scan=3, idx_scan=None, seq_tup_read=60000)]
    found = f.seq_scan_tables(tables, 10000)
    assert [t['table'] for t in found] == ['big', 'noindex']
    expected = 'table public.noindex (20000 rows) read by 3 sequential scan(s) and 0 index scan(s): missing index?'
    assert f.seq_scan_findings(found)[1] == expected


def test_dead_rows_call_for_vacuum():
    tables = [dict(schema='public', table='churn', n_live_tup=40000, n_dead_tup=10000),
              dict(schema='public', table='calm', n_live_tup=40000, n_dead_tup=7999),
              dict(schema='public', table='tiny', n_live_tup=10, n_dead_tup=100)]
    assert [t['table'] for t in f.vacuum_tables(tables, 10000, 20)] == ['churn']


def test_size_warning_only_when_asked():
    assert f.size_findings('db', 600 * 1024 * 1024, 0) == []
    assert f.size_findings('db', 600 * 1024 * 1024, 500) == ['database db is 600 MB (warning at 500 MB)']
    assert f.size_findings('db', 400 * 1024 * 1024, 500) == []


def test_analyse_on_a_healthy_server_finds_nothing():
    verdict = f.analyse(activity(5, idle_in_transaction=[], statements=[], tables=[]), THRESHOLDS)
    assert verdict['findings'] == []
    assert verdict['connections_exhausted'] is False
    assert verdict['usable_connections'] == 97
    assert verdict['findings_by_kind'] == dict((kind, []) for kind in f.FINDING_KINDS)


def test_findings_by_kind_say_by_key_what_each_finding_is_about():
    # The roles keep the kinds their runbook section reports by key (P2 memory: the size; P2 slow queries: all but
    # connections), where they used to pick sentences by their first word.
    tables = [dict(schema='public', table='big', n_live_tup=50000, n_dead_tup=20000, seq_scan=12, idx_scan=0,
                   seq_tup_read=600000)]
    thresholds = dict(THRESHOLDS, database_size_warn_mb=5)
    verdict = f.analyse(activity(97, idle_in_transaction=[dict(age_seconds=400, application='api')],
                                 statements=[dict(query='SELECT pg_sleep(2)', mean_ms=2000, calls=1)], tables=tables),
                        thresholds)
    by_kind = verdict['findings_by_kind']
    assert set(by_kind) == set(f.FINDING_KINDS)
    assert all(len(by_kind[kind]) == 1 for kind in f.FINDING_KINDS), by_kind
    assert by_kind['connections'][0].startswith('connections exhausted')
    assert by_kind['database_size'] == ['database db is 10 MB (warning at 5 MB)']
    # the same sentences, in the order findings always had
    assert verdict['findings'] == [by_kind[kind][0] for kind in f.FINDING_KINDS]
