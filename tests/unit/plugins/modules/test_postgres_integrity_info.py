"""postgres_integrity_info with psql replaced by a fake that answers per SQL statement, and list_backups on a
real temporary directory."""
import json
import os

from ansible_collections.tgops.runbooks.plugins.module_utils._pg_integrity import judge, list_backups
from ansible_collections.tgops.runbooks.plugins.modules import postgres_integrity_info

from tgops_module_runner import run_module
from tgops_psql_fakes import PASSWORD, FakePsql, assert_password_only_in_a_passfile

CONN = dict(login_host="127.0.0.1", login_port=25432, login_user="toogoodtogo", login_password=PASSWORD,
            login_db="toogoodtogo")
INVALID = "ERROR:  invalid page in block 0 of relation base/16384/16421"


def listing(amcheck=False):
    return dict(server_version="15.18", database="toogoodtogo", amcheck=amcheck,
                tables=[dict(schema="public", name="orders", file="base/16384/16421"),
                        dict(schema="public", name="users", file="base/16384/16400")],
                indexes=[dict(schema="public", name="users_pkey", file="base/16384/16405")])


def ok(value):
    return (0, json.dumps(value) + "\n", "")


def test_a_healthy_database_passes_and_every_table_is_read_in_full_in_its_own_call():
    psql = FakePsql(("'tables'", ok(listing())), ('FROM "public"."orders"', ok(dict(rows=3, bytes=90))),
                    ('FROM "public"."users"', ok(dict(rows=2, bytes=50))))
    result = run_module(postgres_integrity_info, dict(CONN), run_command=psql, bin_paths={})
    assert not result.get("failed"), result
    assert result["passed"] is True and result["corrupted"] == [] and result["findings"] == []
    assert result["tables_checked"] == 2 and result["indexes_checked"] == 0
    assert [r["rows"] for r in result["relations"]] == [3, 2]
    reads = [c["sql"] for c in psql.calls[1:]]
    assert len(reads) == 2
    # heap read, not an index-only answer; every column detoasted
    assert all("enable_indexonlyscan = off" in sql and "t::text" in sql for sql in reads)
    for call in psql.calls:
        assert PASSWORD not in " ".join(call["argv"])
        assert_password_only_in_a_passfile(call)


def test_a_corrupted_table_is_named_with_the_postgres_error_and_the_next_table_is_still_read():
    err = "psql:<stdin>:3: %s\nCONTEXT: password %s\n" % (INVALID, PASSWORD)
    psql = FakePsql(("'tables'", ok(listing())), ('FROM "public"."orders"', (1, "", err)),
                    ('FROM "public"."users"', ok(dict(rows=2, bytes=50))))
    result = run_module(postgres_integrity_info, dict(CONN), run_command=psql, bin_paths={})
    assert result["passed"] is False
    assert result["corrupted"] == ["public.orders"]
    assert len(result["findings"]) == 1
    assert "public.orders" in result["findings"][0] and "invalid page in block 0" in result["findings"][0]
    assert "base/16384/16421" in result["findings"][0]
    assert result["relations"][1]["rows"] == 2
    assert PASSWORD not in json.dumps(result)


def test_fail_on_problem_fails_naming_the_relation_and_masks_the_password():
    err = "ERROR:  could not read block 3 in file \"base/1/2\": read only 0 of 8192 bytes %s\n" % PASSWORD
    psql = FakePsql(("'tables'", ok(listing())), ('FROM "public"."orders"', (1, "", err)),
                    ('FROM "public"."users"', ok(dict(rows=2, bytes=50))))
    result = run_module(postgres_integrity_info, dict(CONN, fail_on_problem=True), run_command=psql, bin_paths={})
    assert result["failed"] is True
    assert "public.orders" in result["msg"] and "could not read block 3" in result["msg"]
    assert PASSWORD not in json.dumps(result) and "********" in result["msg"]


def test_indexes_are_checked_only_when_amcheck_is_installed():
    answers = (("'tables'", ok(listing(amcheck=True))), ("bt_index_check", (1, "", "ERROR:  index \"users_pkey\" lacks a main relation fork\n")),
               ('FROM "public"', ok(dict(rows=1, bytes=1))))
    result = run_module(postgres_integrity_info, dict(CONN), run_command=FakePsql(*answers), bin_paths={})
    assert result["indexes_checked"] == 1 and result["corrupted"] == ["public.users_pkey"]
    result = run_module(postgres_integrity_info, dict(CONN, check_indexes=False), run_command=FakePsql(*answers),
                        bin_paths={})
    assert result["passed"] is True and result["indexes_checked"] == 0


def test_a_database_that_cannot_be_listed_fails_with_the_error_masked():
    psql = FakePsql(("'tables'", (2, "", "psql: error: connection to server failed: password %s\n" % PASSWORD)))
    result = run_module(postgres_integrity_info, dict(CONN), run_command=psql, bin_paths={})
    assert result["failed"] is True
    assert result["msg"].startswith("cannot list the relations of database toogoodtogo:")
    assert PASSWORD not in result["msg"]


def test_no_user_table_is_not_a_pass():
    empty = dict(listing(), tables=[], indexes=[])
    verdict = judge(dict(database="x", relations=[]))
    assert verdict["passed"] is False and "no user table" in verdict["findings"][0]
    result = run_module(postgres_integrity_info, dict(CONN), run_command=FakePsql(("'tables'", ok(empty))),
                        bin_paths={})
    assert result["passed"] is False


def test_backups_are_listed_newest_first_without_safety_backups(tmp_path):
    names = {"toogoodtogo_20250101_030000.sql.gz": 100, "toogoodtogo_20250102_030000.sql.gz": 200,
             "toogoodtogo_20250103_030000_pre_restore.sql.gz": 300, "backup_20250104_030000.dump": 400,
             "toogoodtogo_20250102_040000_pre_deployment.sql.gz": 150}
    for name, mtime in names.items():
        path = tmp_path / name
        path.write_bytes(b"x" * 10)
        os.utime(path, (mtime, mtime))
    found = list_backups(str(tmp_path), "toogoodtogo_*.sql.gz", ["pre_restore"])
    assert [b["name"] for b in found] == ["toogoodtogo_20250102_030000.sql.gz",
                                          "toogoodtogo_20250102_040000_pre_deployment.sql.gz",
                                          "toogoodtogo_20250101_030000.sql.gz"]
    assert found[0]["path"] == str(tmp_path / "toogoodtogo_20250102_030000.sql.gz") and found[0]["size"] == 10
    psql = FakePsql(("'tables'", ok(listing())), ('FROM "public"', ok(dict(rows=1, bytes=1))))
    result = run_module(postgres_integrity_info, dict(CONN, backup_dir=str(tmp_path), backup_pattern="toogoodtogo_*.sql.gz"),
                        run_command=psql, bin_paths={})
    assert [b["name"] for b in result["backups"]][0] == "toogoodtogo_20250102_030000.sql.gz"
    result = run_module(postgres_integrity_info, dict(CONN, backup_dir=str(tmp_path / "missing")),
                        run_command=psql, bin_paths={})
    assert result["failed"] is True and "is not a directory" in result["msg"]
