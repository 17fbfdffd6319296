"""The P1 and P2 incident playbooks against the lab: each real fault is injected, and each playbook must
find it, fix what it may (destructive steps only when confirmed), verify health and write the report.
Every test puts the lab back in its `finally` block."""
import glob
import json
import os
import time
import uuid

import psycopg2
import pytest
import redis
import requests

from conftest import REPORT_TASKS, ansible_playbook, changed_tasks, compose, ssh, wait_health

pytestmark = pytest.mark.lane("tgquiz")

TELEGRAM = "http://127.0.0.1:18081"
TONCENTER = "http://127.0.0.1:18082"
PINATA = "http://127.0.0.1:18083"
WEBHOOK = "https://toogoodtogo.lab/webhook/telegram"


def tgquiz_db(secrets_file, **kwargs):
    return psycopg2.connect(host="127.0.0.1", port=15432, dbname="tgquiznft_prod", user="postgres",
                            password=secrets_file["tgquiz"]["postgres_password"], connect_timeout=5, **kwargs)


def query(secrets_file, sql, params=None):
    conn = tgquiz_db(secrets_file)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def run(playbook, tmp_path, *args, json_output=False):
    proc = ansible_playbook("playbooks/%s" % playbook, *args, env={"TGOPS_REPORT_DIR": str(tmp_path)},
                            json_output=json_output)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    return proc


def report(tmp_path, host):
    """The one report this run wrote for ``host``."""
    found = [p for p in glob.glob(str(tmp_path / "*.md")) if ("-%s-" % host) in os.path.basename(p)]
    assert len(found) == 1, os.listdir(tmp_path)
    with open(found[0]) as handle:
        return handle.read()


def started_at(platform, service):
    """When the service's container last started (container names differ between the platforms)."""
    container = compose(platform, "ps -q %s" % service).stdout.strip()
    assert container, "%s has no %s container" % (platform, service)
    return ssh(platform, "docker inspect -f '{{.State.StartedAt}}' %s" % container).stdout.strip()


def bot_state(token):
    return requests.get(TELEGRAM + "/_control/bots/%s" % token.split(":")[0], timeout=5).json()["bot"]


def set_webhook(token, url, secret=None):
    body = {"url": url}
    if secret:
        body["secret_token"] = secret
    for attempt in range(5):  # one setWebhook a second per bot
        r = requests.post(TELEGRAM + "/bot%s/setWebhook" % token, json=body, timeout=5)
        if r.status_code != 429:
            break
        time.sleep(1.1 + attempt * 0.1)
    assert r.json()["ok"] is True, r.text


# ---------------------------------------------------------------------------------------------- P1 database

class Hogs:
    """Real connections idle in a transaction until an application role has no connection slot left,
    as a pool leak would leave them."""

    def __init__(self, secrets_file):
        self.conns = []
        admin = tgquiz_db(secrets_file)
        try:
            with admin.cursor() as cur:
                cur.execute("SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int,"
                            " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')")
                usable, used = cur.fetchone()
        finally:
            admin.close()
        for number in range(usable - (used - 1)):
            conn = tgquiz_db(secrets_file, application_name="tgops-it-leak-%d" % (number % 2))
            with conn.cursor() as cur:
                cur.execute("SELECT 1")  # opens the transaction and leaves it open
            self.conns.append(conn)

    def alive(self):
        count = 0
        for conn in self.conns:
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                count += 1
            except psycopg2.Error:
                pass
        return count

    def close(self):
        for conn in self.conns:
            try:
                conn.close()
            except psycopg2.Error:
                pass


def test_p1_database_exhausted_connections(tmp_path, secrets_file):
    hogs = Hogs(secrets_file)
    try:
        time.sleep(1.5)
        assert hogs.conns
        age = ["-e", "database_idle_in_transaction_age=1", "-l", "tgquiz"]

        # Check mode: says it, changes nothing, writes nothing.
        proc = run("p1_database.yml", tmp_path, "--check", *age)
        assert "connections exhausted" in proc.stdout
        assert "Would restart backend-api, telegram-bot" in proc.stdout
        assert hogs.alive() == len(hogs.conns)
        assert not os.listdir(tmp_path)

        # Not confirmed: the sessions stay; the ladder's next step restarts the app services.
        before = started_at("tgquiz", "backend-api")
        run("p1_database.yml", tmp_path / "unconfirmed", *age)
        text = report(tmp_path / "unconfirmed", "tgquiz-lab")
        assert "connections exhausted: " in text
        assert "session(s) idle in transaction for 1 s or more" in text and "tgops-it-leak" in text
        assert "Not ending %d session(s) idle in transaction: confirm with -e p1_database_terminate_confirm=true" % len(hogs.conns) in text
        assert "Restarted backend-api, telegram-bot" in text
        assert "**Status:** Investigating" in text
        assert hogs.alive() == len(hogs.conns), "sessions were ended without confirmation"
        assert started_at("tgquiz", "backend-api") != before

        # Confirmed: the leaked sessions end, connections are back, the service is verified.
        run("p1_database.yml", tmp_path / "confirmed", "-e", "p1_database_terminate_confirm=true", *age)
        text = report(tmp_path / "confirmed", "tgquiz-lab")
        assert "Ended %d session(s) idle in transaction" % len(hogs.conns) in text
        assert "**Status:** Resolved" in text
        assert "Health at end: healthy" in text
        assert hogs.alive() == 0
    finally:
        hogs.close()
        wait_health("tgquiz")


def test_p1_database_starts_a_stopped_postgres_and_never_restores_unconfirmed(tmp_path):
    """The playbook's side of a stopped PostgreSQL: its report, and no restore without confirmation. The role's
    side of the same fault (PostgreSQL running and answering, the application healthy, a second run changes
    nothing) is molecule/database's."""
    compose("tgquiz", "stop postgres")
    try:
        run("p1_database.yml", tmp_path, "-l", "tgquiz")
        text = report(tmp_path, "tgquiz-lab")
        assert "service postgres is not running or unhealthy" in text
        assert "Started postgres" in text
        assert ("Not restoring from backup: if corruption is suspected, confirm with -e p1_database_restore_confirm=tgquiznft_prod"
                " -e p1_database_restore_backup=<file>") in text
    finally:
        compose("tgquiz", "start postgres")
        wait_health("tgquiz")


def test_p1_database_restore_needs_a_named_backup_as_well_as_confirmation(tmp_path):
    proc = run("p1_database.yml", tmp_path, "--check", "-l", "tgquiz", "-e", "p1_database_restore_confirm=tgquiznft_prod")
    assert "Restore confirmed but no backup named: not restoring (add -e p1_database_restore_backup=<file>)" in proc.stdout
    assert "tgops.runbooks.restore" not in proc.stdout


@pytest.mark.parametrize("confirm", ["true", "yes", "toogoodtogo"])
def test_p1_database_restore_is_confirmed_only_by_the_database_name(tmp_path, confirm):
    # `true` used to be enough (the role filled the typed confirmation in itself).
    proc = ansible_playbook("playbooks/p1_database.yml", "--check", "-l", "tgquiz", "-e", "p1_database_restore_confirm=%s" % confirm,
                            "-e", "p1_database_restore_backup=backup_20250120_143000.dump", env={"TGOPS_REPORT_DIR": str(tmp_path)})
    assert proc.returncode != 0, proc.stdout[-6000:]
    assert "confirm with -e p1_database_restore_confirm=tgquiznft_prod" in proc.stdout, proc.stdout[-6000:]
    assert "Nothing was changed" in proc.stdout
    assert "tgops.runbooks.restore" not in proc.stdout and "Take the host lock" not in proc.stdout


def test_p1_database_never_restarts_a_running_postgres_for_a_failed_login(tmp_path):
    # A bad password (like "too many clients") comes from a running server: restarting it fixes nothing and
    # drops every session. Only a stopped container or a server that answers nothing is restarted.
    before = started_at("tgquiz", "postgres")
    run("p1_database.yml", tmp_path, "-l", "tgquiz", "-e", "database_login_password=not-the-password")
    assert started_at("tgquiz", "postgres") == before, "a running PostgreSQL was restarted for a failed login"
    text = report(tmp_path, "tgquiz-lab")
    assert "Restarted postgres" not in text and "Started postgres" not in text
    assert "database not reachable: " in text and "password authentication failed" in text
    assert "PostgreSQL is running and answers (pg_isready: " in text and "accepting connections" in text
    assert "the login failed, not the server, so it is not restarted" in text
    assert "not-the-password" not in text


# ---------------------------------------------------------------------------------------------- P1 bot

@pytest.mark.lane("toogoodtogo")
def test_p1_bot_resets_a_misdirected_webhook(tmp_path, secrets_file):
    """The playbook's side of a webhook pointed at the other platform without its secret: the report. The role's
    side of the same fault (getWebhookInfo names the inventory's URL with the secret set, an update reaches the
    bot through nginx, a second run changes nothing) is molecule/bot's, whose fault also stops the bot."""
    s = secrets_file["toogoodtogo"]
    set_webhook(s["bot_token"], "https://tgquiz.lab/webhook/telegram")  # the other platform's address
    try:
        run("p1_bot.yml", tmp_path, "-l", "toogoodtogo")
        text = report(tmp_path, "toogoodtogo-lab")
        assert "webhook is set to another URL (expected %s)" % WEBHOOK in text
        assert "Set the webhook to %s (setWebhook)" % WEBHOOK in text
        assert "**Status:** Resolved" in text
    finally:
        if bot_state(s["bot_token"])["webhook_url"] != WEBHOOK:
            time.sleep(1.1)
            set_webhook(s["bot_token"], WEBHOOK, s["webhook_secret"])


def test_p1_bot_deletes_the_leftover_webhook_of_a_polling_bot(tmp_path, secrets_file):
    token = secrets_file["tgquiz"]["bot_token"]
    set_webhook(token, "https://tgquiz.lab/leftover")
    try:
        before = started_at("tgquiz", "telegram-bot")
        run("p1_bot.yml", tmp_path, "-l", "tgquiz")
        text = report(tmp_path, "tgquiz-lab")
        assert "a webhook is set on a polling bot (getUpdates answers 409 Conflict)" in text
        assert "Deleted the leftover webhook (deleteWebhook)" in text
        assert "Restarted telegram-bot" in text
        assert "**Status:** Resolved" in text
        assert bot_state(token)["webhook_url"] == ""
        assert started_at("tgquiz", "telegram-bot") != before
    finally:
        requests.post(TELEGRAM + "/bot%s/deleteWebhook" % token, timeout=5)
        wait_health("tgquiz")


@pytest.mark.lane("toogoodtogo")
def test_p1_bot_reports_a_revoked_token_and_does_not_restart(tmp_path, secrets_file):
    token = secrets_file["toogoodtogo"]["bot_token"]
    r = requests.post(TELEGRAM + "/_control/bots/%s/revoke" % token.split(":")[0], timeout=5)
    assert r.json()["ok"] is True, r.text
    try:
        before = started_at("toogoodtogo", "bot")
        proc = run("p1_bot.yml", tmp_path, "-l", "toogoodtogo")
        text = report(tmp_path, "toogoodtogo-lab")
        assert "Telegram rejected the bot token (401" in text
        assert "restarting cannot fix this" in text
        assert "Not restarting bot: Telegram rejects the token, a restart cannot fix that" in text
        assert "**Status:** Investigating" in text
        assert started_at("toogoodtogo", "bot") == before, "the bot was restarted"
        assert token not in proc.stdout and token not in text
    finally:
        requests.post(TELEGRAM + "/_control/bots", json={"token": token}, timeout=5).raise_for_status()
        wait_health("toogoodtogo")


def test_p1_bot_checks_the_token_the_bot_runs_with_not_the_vaults(tmp_path, secrets_file):
    """The vault and the env file disagree (the usual cause of a bot incident): the bot's own token is checked, the
    difference is the finding, and nothing is fixed with the vault's token."""
    token = secrets_file["tgquiz"]["bot_token"]
    vault = "5550007777:AAE_aVaultTokenThatIsNotTheAppsOne-xyz"  # what a stale vault would hold
    before = started_at("tgquiz", "telegram-bot")
    proc = run("p1_bot.yml", tmp_path, "-l", "tgquiz", "-e", "platform_bot_token=%s" % vault)
    text = report(tmp_path, "tgquiz-lab")
    said = " ".join(text.split())
    assert "the app's TELEGRAM_BOT_TOKEN (in " in said and "differs from the one this run was given" in said, text
    # getMe answered for the bot's own token: the vault's (which Telegram would reject) was not what was checked
    assert "rejected the bot token" not in said, text
    assert "**Status:** Investigating" in text
    assert started_at("tgquiz", "telegram-bot") == before, "the bot was restarted"
    for secret in (token, vault, token.split(":")[1], vault.split(":")[1]):
        assert secret not in proc.stdout and secret not in text


# ---------------------------------------------------------------------------------------------- P1 NFT minting

@pytest.fixture(name="mints")
def fixture_mints(secrets_file):
    """Inserts stuck mints on request; puts the seeded rows, the wallet and the Pinata key back afterwards."""
    # Kept as JSON and put back in one statement per table: a statement (and a connection) per row of the
    # lab's 1,000 quiz results made this teardown take 10-14 s.
    seeded = query(secrets_file, "SELECT coalesce(json_agg(m), '[]') FROM "
                                 "(SELECT id, status, error, ipfs_hash, updated_at FROM mint_transactions) m")[0][0]
    minted = query(secrets_file, "SELECT coalesce(json_agg(r), '[]') FROM (SELECT id, nft_minted FROM quiz_results) r")[0][0]
    wallets = requests.get(TONCENTER + "/_control/wallets", timeout=5).json()["wallets"]
    inserted = []

    def insert(count, hours=2):
        user, result = query(secrets_file, "SELECT user_id, id FROM quiz_results ORDER BY id LIMIT 1")[0]
        for row_number in range(count):  # pylint: disable=unused-variable
            row = query(secrets_file, "INSERT INTO mint_transactions (user_id, quiz_result_id, status, wallet_address, created_at) "
                                      "VALUES (%s, %s, 'pending', %s, now() - make_interval(hours => %s)) RETURNING id",
                        (user, result, "0:" + "83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8", hours))
            inserted.append(row[0][0])
        return list(inserted)

    yield insert
    s = secrets_file["tgquiz"]
    conn = tgquiz_db(secrets_file)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("DELETE FROM mint_transactions WHERE id = ANY(%s)", (inserted,))
            cur.execute("UPDATE mint_transactions m SET status = s.status, error = s.error, ipfs_hash = s.ipfs_hash, "
                        "updated_at = s.updated_at FROM json_populate_recordset(NULL::mint_transactions, %s) s WHERE m.id = s.id",
                        (json.dumps(seeded),))
            cur.execute("UPDATE quiz_results r SET nft_minted = s.nft_minted "
                        "FROM json_populate_recordset(NULL::quiz_results, %s) s WHERE r.id = s.id", (json.dumps(minted),))
    finally:
        conn.close()
        for wallet in wallets:
            requests.post(TONCENTER + "/_control/wallets", timeout=5, json={
                "address": wallet["raw"], "balance_nanoton": wallet["balance_nanoton"], "state": wallet["state"],
                "network": wallet["network"]})
        requests.post(PINATA + "/_control/accounts", timeout=5, json={
            "name": "tgquiz", "api_key": s["pinata_api_key"], "secret_api_key": s["pinata_secret_key"]}).raise_for_status()


def statuses(secrets_file, ids):
    return dict(query(secrets_file, "SELECT id, status FROM mint_transactions WHERE id = ANY(%s)", (ids,)))


def test_p1_nft_minting_drained_wallet_and_revoked_pinata_key(tmp_path, secrets_file, mints):
    s = secrets_file["tgquiz"]
    ids = mints(2)
    stuck = query(secrets_file, "SELECT count(*) FROM mint_transactions WHERE status = 'pending' "
                                "AND created_at < now() - interval '1 hour'")[0][0]
    requests.post(TONCENTER + "/_control/wallets", json={"address": s["ton_wallet_address"], "balance_nanoton": 0,
                                                         "state": "active"}, timeout=5).raise_for_status()
    requests.post(PINATA + "/_control/revoke", json={"api_key": s["pinata_api_key"]}, timeout=5).raise_for_status()

    proc = run("p1_nft_minting.yml", tmp_path, "--check", "-e", "p1_nft_minting_fail_stuck_confirm=true")
    assert "Would mark %d stuck mint(s) failed" % stuck in proc.stdout
    assert set(statuses(secrets_file, ids).values()) == {"pending"}
    assert not os.listdir(tmp_path)

    proc = run("p1_nft_minting.yml", tmp_path / "real", "-e", "p1_nft_minting_fail_stuck_confirm=true")
    text = report(tmp_path / "real", "tgquiz-lab")
    assert "TON wallet balance 0 TON is below the minimum 0.5 TON" in text
    assert "Pinata rejects the API key (401 INVALID_CREDENTIALS)" in text
    assert "%d mint transaction(s) pending for more than 3600 s" % stuck in text
    assert "ALERT: top up the minting TON wallet" in text
    assert "Not retrying mints: the wallet balance is low and Pinata rejects the key, every mint would fail" in text
    assert "Marked %d stuck mint(s) failed" % stuck in text
    assert "**Status:** Investigating" in text
    assert set(statuses(secrets_file, ids).values()) == {"failed"}
    for secret in (s["pinata_api_key"], s["pinata_secret_key"], s["toncenter_api_key"]):
        assert secret not in text and secret not in proc.stdout
    assert not glob.glob(str(tmp_path / "real" / "*toogoodtogo*"))


def test_p1_nft_minting_retries_through_the_platform_command(tmp_path, secrets_file, mints):
    """The playbook's side of a stuck mint: no retry without confirmation, and the report of a confirmed one.
    The role's side of the same fault is molecule/minting's: check mode (no command without a declared dry run,
    only --dry-run with one, the mints untouched), the retried mint completed and pinned, and a second run that
    changes nothing (idempotence)."""
    ids = mints(1)
    # Every retry spends TON from the wallet: not without confirmation, and nothing but the report changes.
    proc = run("p1_nft_minting.yml", tmp_path / "unconfirmed", json_output=True)
    text = report(tmp_path / "unconfirmed", "tgquiz-lab")
    assert "each retry spends TON from the minting wallet; confirm with -e p1_nft_minting_retry_confirm=true" in text
    assert "Retried " not in text
    assert statuses(secrets_file, ids) == {ids[0]: "pending"}
    assert set(changed_tasks(json.loads(proc.stdout))) <= REPORT_TASKS

    run("p1_nft_minting.yml", tmp_path, "-e", "p1_nft_minting_retry_confirm=true")
    text = report(tmp_path, "tgquiz-lab")
    assert "mint transaction(s) pending for more than 3600 s" in text
    # The seeded stuck rows have no recipient address and fail again; the inserted one is minted.
    assert "Retried " in text and " completed, " in text
    assert "**Status:** Resolved" in text


# ---------------------------------------------------------------------------------------------- P2

def test_p2_memory_remedies_only_when_confirmed(tmp_path):
    """The playbook's side of memory pressure: nothing without confirmation, the report of the confirmed remedies,
    and the Redis flush (molecule/resources does not flush: a confirmed FLUSHDB acts on every run). That a
    confirmed restart restarts backend-api and relieves it is molecule/resources' (a real leak, not a threshold)."""
    cache = redis.Redis(host="127.0.0.1", port=16379, db=0, socket_timeout=5)
    key = "tgops-it-%s" % uuid.uuid4().hex
    cache.set(key, "x" * 1024)
    # Memory pressure simulated by the threshold: every container is "over" it.
    low = ["-l", "tgquiz", "-e", "resources_container_warn_percent=0.001"]
    try:
        before = started_at("tgquiz", "backend-api")
        run("p2_memory.yml", tmp_path / "unconfirmed", *low)
        text = report(tmp_path / "unconfirmed", "tgquiz-lab")
        assert "container backend-api uses" in text and "of its host memory" in text
        assert "Not restarting backend-api, telegram-bot: confirm with -e p2_memory_restart_confirm=true" in text
        assert cache.exists(key)
        assert started_at("tgquiz", "backend-api") == before

        run("p2_memory.yml", tmp_path / "confirmed", *low,
            "-e", "p2_memory_restart_confirm=true", "-e", "p2_memory_flush_redis_confirm=true")
        text = report(tmp_path / "confirmed", "tgquiz-lab")
        assert "Restarted backend-api, telegram-bot" in text
        assert "Flushed Redis database 0" in text
        assert "Health at end: healthy" in text
        assert not cache.exists(key)
    finally:
        cache.delete(key)
        wait_health("tgquiz")


def test_p2_slow_queries_finds_the_seq_scan_table_and_indexes_it_when_confirmed(tmp_path, secrets_file):
    table = "tgops_it_events"
    query(secrets_file, "DROP TABLE IF EXISTS %s" % table)
    query(secrets_file, "CREATE TABLE %s (id serial PRIMARY KEY, user_id int, payload text)" % table)
    query(secrets_file, "INSERT INTO %s (user_id, payload) SELECT g %% 5000, md5(g::text) FROM generate_series(1, 30000) g" % table)
    query(secrets_file, "ANALYZE %s" % table)
    for user in range(5):
        query(secrets_file, "SELECT count(*) FROM %s WHERE user_id = %%s" % table, (user,))
    query(secrets_file, "SELECT pg_sleep(0.4)")
    index = json.dumps({"p2_slow_queries_create_index": {"name": "%s_user_id" % table, "table": table,
                                                         "columns": ["user_id"]}})
    args = ["-l", "tgquiz", "-e", "resources_slow_query_mean_ms=300", "-e", index]
    try:
        proc = run("p2_slow_queries.yml", tmp_path, "--check", *args, "-e", "p2_slow_queries_create_index_confirm=true")
        assert "Would run CREATE INDEX CONCURRENTLY" in proc.stdout
        assert not query(secrets_file, "SELECT 1 FROM pg_indexes WHERE indexname = %s", (table + "_user_id",))
        assert not os.listdir(tmp_path)

        run("p2_slow_queries.yml", tmp_path / "real", *args, "-e", "p2_slow_queries_vacuum_confirm=true",
            "-e", "p2_slow_queries_create_index_confirm=true")
        text = report(tmp_path / "real", "tgquiz-lab")
        assert "table public.%s (30000 rows) read by" % table in text and "missing index?" in text
        assert "slow statement: mean" in text and "pg_sleep" in text
        assert "Ran VACUUM (ANALYZE)" in text
        assert 'Ran CREATE INDEX CONCURRENTLY IF NOT EXISTS "%s_user_id" ON "%s" ("user_id")' % (table, table) in text
        assert query(secrets_file, "SELECT 1 FROM pg_indexes WHERE indexname = %s", (table + "_user_id",))
    finally:
        query(secrets_file, "DROP TABLE IF EXISTS %s" % table)


# Each platform in its own lane: a run on both would need both at baseline while the lanes disturb them.
@pytest.mark.parametrize("playbook", ["p1_database.yml", "p1_bot.yml", "p2_memory.yml", "p2_slow_queries.yml"])
@pytest.mark.parametrize("platform", ["tgquiz", "toogoodtogo"])
def test_on_a_healthy_lab_changes_nothing_but_the_report(tmp_path, platform, playbook):
    wait_health(platform)
    proc = run(playbook, tmp_path, "-l", platform, json_output=True)
    result = json.loads(proc.stdout)
    assert set(changed_tasks(result)) <= REPORT_TASKS, changed_tasks(result)
    assert set(result["stats"]) == {"%s-lab" % platform}
    assert all(s["failures"] == 0 and s["unreachable"] == 0 for s in result["stats"].values())
    assert len(glob.glob(str(tmp_path / ("*%s-lab*.md" % platform)))) == 1
