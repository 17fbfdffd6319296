"""postgres_activity_info, postgres_maintenance, mint_transactions_info and mint_transactions with psql
replaced by a fake that answers per SQL statement (the SQL arrives on standard input)."""
import json

import pytest

from ansible_collections.tgops.runbooks.plugins.modules import (
    mint_transactions,
    mint_transactions_info,
    postgres_activity_info,
    postgres_maintenance,
)

from tgops_module_runner import run_module
from tgops_psql_fakes import PASSWORD, FakePsql, assert_password_only_in_a_passfile

CONN = dict(login_host="127.0.0.1", login_port=15432, login_password=PASSWORD, login_db="tgquiznft_prod")


def ok(value):
    return (0, json.dumps(value, indent=1) + "\n", "")


ACTIVITY = dict(server_version="15.8", server_version_num=150008, max_connections=100, superuser_reserved_connections=3,
                connections=97, connections_by_state={"idle in transaction": 90, "idle": 7},
                connections_by_application={"leaky": 90, "": 7},
                idle_in_transaction=[dict(pid=10, database="d", user="u", application="leaky", client_addr="127.0.0.1",
                                          age_seconds=900)],
                database="tgquiznft_prod", database_size_bytes=8 * 1024 * 1024, pg_stat_statements=True,
                tables=[dict(schema="public", table="events", total_bytes=1, n_live_tup=50000, n_dead_tup=0,
                             seq_scan=9, seq_tup_read=450000, idx_scan=0, last_vacuum=None, last_analyze=None)])
STATEMENTS = [dict(queryid="1", query="ALTER ROLE app PASSWORD 'hunter2'", calls=1, total_ms=2.0, mean_ms=2.0, rows=0),
              dict(queryid="2", query="SELECT * FROM events WHERE note = '%s'" % PASSWORD, calls=4, total_ms=8000.0,
                   mean_ms=2000.0, rows=4)]


def test_activity_info_reads_judges_and_keeps_the_password_off_the_command_line():
    psql = FakePsql(("pg_stat_statements s JOIN", ok(STATEMENTS)), ("json_build_object", ok(ACTIVITY)))
    result = run_module(postgres_activity_info, dict(CONN), run_command=psql, bin_paths={})
    assert not result.get("failed"), result
    assert result["connections_exhausted"] is True and result["usable_connections"] == 97
    assert [s["pid"] for s in result["idle_in_transaction_over_age"]] == [10]
    assert [t["table"] for t in result["seq_scan_tables"]] == ["events"]
    assert result["findings"][0] == "connections exhausted: 97 in use of 97 usable (max_connections 100)"
    assert any(f.startswith("slow statement: mean 2000.0 ms") for f in result["findings"])
    assert "server_version_num" not in result
    # mean_exec_time on PostgreSQL 13 and later
    assert "mean_exec_time" in psql.sql[1]
    for call in psql.calls:
        assert PASSWORD not in " ".join(call["argv"])
        assert_password_only_in_a_passfile(call)
        assert "--no-password" in call["argv"] and any("tgquiznft_prod" in a for a in call["argv"])
    dumped = json.dumps(result)
    assert PASSWORD not in dumped and "hunter2" not in dumped
    assert "PASSWORD '********'" in result["statements"][0]["query"]


def test_activity_info_without_pg_stat_statements_makes_one_call_and_old_servers_use_mean_time():
    psql = FakePsql(("json_build_object", ok(dict(ACTIVITY, pg_stat_statements=False, connections=3))))
    result = run_module(postgres_activity_info, dict(CONN), run_command=psql, bin_paths={})
    assert result["statements"] == [] and len(psql.calls) == 1
    assert result["connections_exhausted"] is False
    psql = FakePsql(("pg_stat_statements s JOIN", ok([])), ("json_build_object", ok(dict(ACTIVITY, server_version_num=120000))))
    run_module(postgres_activity_info, dict(CONN), run_command=psql, bin_paths={})
    assert "s.mean_time" in psql.sql[1] and "mean_exec_time" not in psql.sql[1]


def test_activity_info_reports_psql_errors_with_the_password_masked():
    err = ('psql: error: connection to server at "127.0.0.1", port 15432 failed: FATAL:  password authentication '
           'failed for user "postgres" (%s)\n' % PASSWORD)
    result = run_module(postgres_activity_info, dict(CONN), run_command=FakePsql(("", (2, "", err))), bin_paths={})
    assert result["failed"]
    assert result["msg"].startswith("cannot read the activity of database tgquiznft_prod: psql: error: connection")
    assert PASSWORD not in result["msg"]


def test_activity_info_refuses_garbage_output_and_bad_thresholds():
    result = run_module(postgres_activity_info, dict(CONN), run_command=FakePsql(("", (0, "not json\n", ""))), bin_paths={})
    assert result["failed"] and "not JSON" in result["msg"]
    result = run_module(postgres_activity_info, dict(CONN, idle_in_transaction_age=-1), run_command=FakePsql(), bin_paths={})
    assert result["msg"] == "idle_in_transaction_age must be between 0 and 316224000 seconds, got -1.0"
    # ansible-core's float takes nan and inf: a duration or percent of either is refused, not compared
    result = run_module(postgres_activity_info, dict(CONN, idle_in_transaction_age="nan"), run_command=FakePsql(),
                        bin_paths={})
    assert result["failed"] and result["msg"].startswith("idle_in_transaction_age must be between 0 and")
    result = run_module(postgres_activity_info, dict(CONN, connections_warn_percent="inf"), run_command=FakePsql(),
                        bin_paths={})
    assert result["msg"] == "connections_warn_percent must be a finite number, 0 or more, got inf"
    result = run_module(postgres_activity_info, dict(CONN, top=0), run_command=FakePsql(), bin_paths={})
    assert result["msg"] == "top must be between 1 and 1000, got 0"


def test_activity_info_takes_fractional_thresholds_and_says_whole_ones_as_before():
    # Every duration is seconds as a float and every percent threshold a float (docs/module-vocabulary.md).
    activity = dict(ACTIVITY, connections=49, pg_stat_statements=False,
                    tables=[dict(ACTIVITY["tables"][0], n_live_tup=40000, n_dead_tup=10100, seq_scan=0)])
    result = run_module(postgres_activity_info, dict(CONN, connections_warn_percent=50.6, dead_rows_percent=25.25,
                                                     idle_in_transaction_age=899.5),
                        run_command=FakePsql(("json_build_object", ok(activity))), bin_paths={})
    assert result["passed"] is False
    assert result["findings_by_kind"]["connections"] == []  # 49 of 97 usable is 50.5 %
    assert [t["table"] for t in result["vacuum_tables"]] == ["events"]  # 10100 dead of 40000 live: 25.25 %
    assert result["findings_by_kind"]["idle_in_transaction"] == [
        "1 session(s) idle in transaction for 899.5 s or more (oldest 900 s; leaky)"]
    result = run_module(postgres_activity_info, dict(CONN, connections_warn_percent=50.4),
                        run_command=FakePsql(("json_build_object", ok(activity))), bin_paths={})
    assert result["findings_by_kind"]["connections"] == [
        "connections at 50.5%: 49 in use of 97 usable (warning at 50.4%)"]
    result = run_module(postgres_activity_info, dict(CONN), run_command=FakePsql(("json_build_object", ok(
        dict(activity, connections=80)))), bin_paths={})
    assert result["findings_by_kind"]["connections"] == [
        "connections at 82.5%: 80 in use of 97 usable (warning at 80%)"]
    assert result["findings_by_kind"]["idle_in_transaction"] == [
        "1 session(s) idle in transaction for 300 s or more (oldest 900 s; leaky)"]
    healthy = dict(activity, connections=3, idle_in_transaction=[], tables=[])
    result = run_module(postgres_activity_info, dict(CONN), run_command=FakePsql(("json_build_object", ok(healthy))),
                        bin_paths={})
    assert result["passed"] is True and result["findings"] == []


SESSIONS = [dict(pid=11, application="leaky", age_seconds=901), dict(pid=12, application="leaky", age_seconds=400)]


def test_terminate_in_check_mode_only_lists():
    psql = FakePsql(("pg_stat_activity", ok(SESSIONS)))
    result = run_module(postgres_maintenance, dict(CONN, action="terminate_idle_in_transaction", older_than=300),
                        check_mode=True, run_command=psql, bin_paths={})
    assert result["changed"] is True and [s["pid"] for s in result["terminated"]] == [11, 12]
    assert "pg_terminate_backend" not in psql.sql[0] and "secs => 300" in psql.sql[0]
    assert result["statements"] == [
        "SELECT pg_terminate_backend(pid) for 2 session(s) idle in transaction for 300 s or more"]
    psql = FakePsql(("pg_stat_activity", ok([])))
    result = run_module(postgres_maintenance, dict(CONN, action="terminate_idle_in_transaction", older_than=2.5),
                        check_mode=True, run_command=psql, bin_paths={})
    assert "secs => 2.5)" in psql.sql[0] and result["statements"][0].endswith("for 2.5 s or more")
    result = run_module(postgres_maintenance, dict(CONN, action="terminate_idle_in_transaction", older_than="inf"),
                        check_mode=True, run_command=FakePsql(), bin_paths={})
    assert result["msg"] == "older_than must be between 0 and 316224000 seconds, got inf"


def test_terminate_for_real_and_nothing_to_do():
    psql = FakePsql(("pg_terminate_backend(pid)", ok(SESSIONS)))
    result = run_module(postgres_maintenance, dict(CONN, action="terminate_idle_in_transaction"), run_command=psql,
                        bin_paths={})
    assert result["changed"] is True and len(result["terminated"]) == 2
    psql = FakePsql(("pg_terminate_backend(pid)", ok(None)))
    result = run_module(postgres_maintenance, dict(CONN, action="terminate_idle_in_transaction"), run_command=psql,
                        bin_paths={})
    assert result["changed"] is False and result["terminated"] == []


def test_vacuum_quotes_tables_and_runs_nothing_in_check_mode():
    args = dict(CONN, action="vacuum_analyze", tables=["public.quiz_results", 'we"ird'])
    psql = FakePsql(("VACUUM", (0, "", "")))
    result = run_module(postgres_maintenance, args, check_mode=True, run_command=psql, bin_paths={})
    assert result["changed"] is True and psql.calls == []
    assert result["statements"] == ['VACUUM (ANALYZE) "public"."quiz_results"', 'VACUUM (ANALYZE) "we""ird"']
    result = run_module(postgres_maintenance, dict(args, action="vacuum_full", tables=[]), run_command=psql, bin_paths={})
    assert result["statements"] == ["VACUUM (FULL, ANALYZE)"] and psql.sql == ["VACUUM (FULL, ANALYZE);\n"]


def test_create_index_is_idempotent_and_validates_names():
    index = dict(name="idx_quiz_results_user_id", table="quiz_results", columns=["user_id"])
    psql = FakePsql(("pg_class", ok(True)))
    result = run_module(postgres_maintenance, dict(CONN, action="create_index", index=index), run_command=psql, bin_paths={})
    assert result["changed"] is False and result["statements"] == []
    psql = FakePsql(("pg_class", ok(False)), ("CREATE INDEX", (0, "", "")))
    result = run_module(postgres_maintenance, dict(CONN, action="create_index", index=index), run_command=psql, bin_paths={})
    assert result["changed"] is True
    assert psql.sql[1] == 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_quiz_results_user_id" ON "quiz_results" ("user_id");\n'
    result = run_module(postgres_maintenance, dict(CONN, action="create_index", index=dict(index, columns=["x" * 64])),
                        run_command=FakePsql(), bin_paths={})
    assert result["failed"] and result["msg"].startswith("column name must be 1-63 characters")
    result = run_module(postgres_maintenance, dict(CONN, action="create_index"), run_command=FakePsql(), bin_paths={})
    assert result["failed"] and "index" in result["msg"]


def test_maintenance_failure_names_the_action():
    psql = FakePsql(("VACUUM", (1, "", "ERROR:  VACUUM cannot run inside a transaction block\n")))
    result = run_module(postgres_maintenance, dict(CONN, action="vacuum_analyze"), run_command=psql, bin_paths={})
    assert result["failed"]
    assert result["msg"] == ("vacuum_analyze on database tgquiznft_prod failed: "
                             "ERROR:  VACUUM cannot run inside a transaction block")


STATS = dict(by_status={"completed": 10, "pending": 3, "failed": 1}, stuck_count=2, stuck_ids=[5, 6],
             oldest_stuck_seconds=7300, recent_failed_count=1,
             recent_failures=[dict(id=9, created_at="2026-11-23T10:00:00+00:00",
                                   error="IPFS upload failed: 401 key %s" % PASSWORD)])


def test_mint_info_counts_and_judges():
    psql = FakePsql(("to_regclass", ok({"exists": True})), ("by_status", ok(STATS)))
    result = run_module(mint_transactions_info, dict(CONN), run_command=psql, bin_paths={})
    assert result["pending_count"] == 3 and result["stuck_ids"] == [5, 6]
    assert result["findings"][0] == "2 mint transaction(s) pending for more than 3600 s (oldest 7300 s)"
    assert result["findings"][1].startswith("1 mint transaction(s) failed in the last 3600 s (last error: IPFS upload")
    assert result["passed"] is False
    assert PASSWORD not in json.dumps(result)
    assert "to_regclass('\"mint_transactions\"')" in psql.sql[0]


def test_mint_info_takes_fractional_seconds_and_refuses_nan():
    psql = FakePsql(("to_regclass", ok({"exists": True})), ("by_status", ok(dict(
        STATS, stuck_count=0, stuck_ids=[], oldest_stuck_seconds=None, recent_failed_count=0))))
    result = run_module(mint_transactions_info, dict(CONN, older_than=90.5, failed_since=1.25), run_command=psql,
                        bin_paths={})
    assert result["passed"] is True and result["findings"] == []
    assert "secs => 90.5" in psql.sql[1] and "secs => 1.25" in psql.sql[1]
    for bad in ("nan", "inf", -1):
        result = run_module(mint_transactions_info, dict(CONN, failed_since=bad), run_command=FakePsql(), bin_paths={})
        assert result["failed"] and result["msg"].startswith("failed_since must be between 0 and 316224000 seconds")


def test_mint_info_without_the_table_says_so():
    psql = FakePsql(("to_regclass", ok({"exists": False})))
    result = run_module(mint_transactions_info, dict(CONN, table="public.mints"), run_command=psql, bin_paths={})
    assert result["failed"] and result["msg"] == "table public.mints does not exist in database tgquiznft_prod"


def test_mint_sweep_counts_in_check_mode_and_updates_for_real():
    psql = FakePsql(("SELECT id FROM", ok([{"id": 5}, {"id": 6}])))
    result = run_module(mint_transactions, dict(CONN), check_mode=True, run_command=psql, bin_paths={})
    assert result == dict(changed=True, count=2, ids=[5, 6], warnings=[])
    assert "UPDATE" not in psql.sql[0]
    psql = FakePsql(("UPDATE", ok([{"id": 5}])))
    result = run_module(mint_transactions, dict(CONN, older_than=7200, error="it's stuck"), run_command=psql, bin_paths={})
    assert result["count"] == 1 and result["changed"] is True
    assert "error = 'it''s stuck'" in psql.sql[0] and "secs => 7200" in psql.sql[0]
    psql = FakePsql(("UPDATE", ok(None)))
    result = run_module(mint_transactions, dict(CONN), run_command=psql, bin_paths={})
    assert result["changed"] is False and result["count"] == 0
    psql = FakePsql(("UPDATE", ok(None)))
    result = run_module(mint_transactions, dict(CONN, older_than=0.5), run_command=psql, bin_paths={})
    assert "secs => 0.5)" in psql.sql[0]
    result = run_module(mint_transactions, dict(CONN, older_than="nan"), run_command=FakePsql(), bin_paths={})
    assert result["msg"] == "older_than must be between 0 and 316224000 seconds, got nan"


@pytest.mark.parametrize("module, extra", [
    (postgres_activity_info, {}),
    (postgres_maintenance, {"action": "vacuum_analyze"}),
    (mint_transactions_info, {}),
    (mint_transactions, {}),
])
def test_every_psql_call_gets_the_password_in_a_passfile_never_in_its_environment(module, extra):
    # psql fails at once: the failure path starts psql too, with the same environment
    psql = FakePsql(("", (2, "", "psql: error: FATAL:  password authentication failed")))
    result = run_module(module, dict(CONN, **extra), run_command=psql, bin_paths={})
    assert result["failed"] and psql.calls
    for call in psql.calls:
        assert_password_only_in_a_passfile(call)


def test_a_password_a_passfile_cannot_hold_fails_before_psql_runs():
    psql = FakePsql()
    result = run_module(postgres_activity_info, dict(CONN, login_password="two\nlines"), run_command=psql, bin_paths={})
    assert result["failed"] and psql.calls == []
    assert result["msg"] == "login_password contains a line break, which a libpq password file cannot hold"
