"""Alembic revisions: one linear history, DDL matching app/models.py, the URL from the environment only.

Offline mode (``alembic upgrade head --sql``) renders the PostgreSQL DDL without a server. When
TGOPS_APP_TEST_DATABASE_URL names a scratch PostgreSQL database, the revisions also run for real there.
"""
import ast
import os
import re
import subprocess
import sys

import pytest
import sqlalchemy

from _app_fixtures import APP_DIR, subprocess_env

from app.models import metadata

PG_ENV = dict(POSTGRES_HOST="db.invalid", POSTGRES_PORT="5432", POSTGRES_USER="postgres",
              POSTGRES_PASSWORD="pg-Secret-Value-1", POSTGRES_DB="tgquiznft_prod")


def alembic(*args, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "alembic", *args], cwd=APP_DIR, capture_output=True, text=True,
                          env=env or subprocess_env(**PG_ENV), timeout=timeout, check=False)


@pytest.fixture(scope="module")
def offline_sql():
    proc = alembic("upgrade", "head", "--sql")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def create_blocks(sql):
    return {m.group(1): m.group(2) for m in re.finditer(r"CREATE TABLE (\w+) \((.*?)\n\);", sql, re.S)}


def test_linear_history_with_one_head():
    proc = alembic("heads")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0002", "(head)"]
    history = alembic("history")
    assert "<base> -> 0001" in history.stdout and "0001 -> 0002 (head)" in history.stdout


def test_offline_ddl_matches_the_models(offline_sql):
    blocks = create_blocks(offline_sql)
    assert set(blocks) == set(metadata.tables) | {"alembic_version"}
    for name, table in metadata.tables.items():
        ddl_columns = {line.split()[0] for line in blocks[name].strip().splitlines()
                       if line.strip() and not line.strip().startswith(("PRIMARY", "FOREIGN", "UNIQUE", "CONSTRAINT", "CHECK"))}
        assert ddl_columns == set(table.columns.keys()), name
    assert "UPDATE alembic_version SET version_num='0002'" in offline_sql


def test_runbook_columns_and_types(offline_sql):
    blocks = create_blocks(offline_sql)
    assert re.search(r"id BIGINT NOT NULL", blocks["users"])
    assert "score INTEGER NOT NULL" in blocks["quiz_results"]
    assert "completed_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL" in blocks["quiz_results"]
    assert "nft_minted BOOLEAN DEFAULT false NOT NULL" in blocks["quiz_results"]
    assert "status TEXT DEFAULT 'pending' NOT NULL" in blocks["mint_transactions"]
    assert "CHECK (status IN ('pending', 'completed', 'failed'))" in blocks["mint_transactions"]
    assert "FOREIGN KEY(user_id) REFERENCES users (id)" in blocks["quiz_results"]
    assert "CREATE INDEX ix_mint_transactions_status_created_at ON mint_transactions (status, created_at)" in offline_sql
    # The runbook's "add missing indexes" example must still have something to add.
    assert "idx_quiz_results_user_id" not in offline_sql


def test_the_url_comes_from_the_environment_and_the_password_stays_out(offline_sql):
    ini = open(os.path.join(APP_DIR, "alembic.ini"), encoding="utf-8").read()
    assert "sqlalchemy.url" not in ini
    assert "pg-Secret-Value-1" not in offline_sql
    proc = alembic("upgrade", "head", "--sql", env=subprocess_env(DATABASE_URL="postgresql://u:p@h/from_database_url"))
    assert proc.returncode == 0, proc.stderr


def test_downgrade_renders_in_reverse():
    proc = alembic("downgrade", "0002:base", "--sql")
    assert proc.returncode == 0, proc.stderr
    drops = re.findall(r"DROP TABLE (\w+);", proc.stdout)
    assert drops == ["payments", "orders", "offers", "stores", "mint_transactions", "quiz_results", "quizzes", "users",
                     "alembic_version"]


def test_revisions_use_only_alembic_and_sqlalchemy():
    versions = os.path.join(APP_DIR, "migrations", "versions")
    for name in os.listdir(versions):
        if not name.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(versions, name), encoding="utf-8").read())
        imported = {n.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for n in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert imported <= {"alembic", "sqlalchemy"}, name


@pytest.mark.skipif(not os.environ.get("TGOPS_APP_TEST_DATABASE_URL"),
                    reason="set TGOPS_APP_TEST_DATABASE_URL to a scratch PostgreSQL database to run migrations for real")
def test_migrations_on_a_real_postgresql():
    url = os.environ["TGOPS_APP_TEST_DATABASE_URL"]
    env = subprocess_env(DATABASE_URL=url)
    for args in (("downgrade", "base"), ("upgrade", "head")):
        proc = alembic(*args, env=env)
        assert proc.returncode == 0, proc.stderr
    assert "Running upgrade 0001 -> 0002" in proc.stderr
    current = alembic("current", env=env)
    assert current.stdout.strip() == "0002 (head)"
    engine = sqlalchemy.create_engine(url)
    try:
        inspector = sqlalchemy.inspect(engine)
        for name, table in metadata.tables.items():
            assert {c["name"] for c in inspector.get_columns(name)} == set(table.columns.keys()), name
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("INSERT INTO users (id, username) VALUES (1, 'a')"))
            with pytest.raises(sqlalchemy.exc.IntegrityError):
                with conn.begin_nested():
                    conn.execute(sqlalchemy.text("INSERT INTO mint_transactions (user_id, status) VALUES (1, 'bogus')"))
            conn.execute(sqlalchemy.text("DELETE FROM users"))
    finally:
        engine.dispose()
