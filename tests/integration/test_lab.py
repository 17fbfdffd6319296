"""Proof that every part of the lab is real: the schema, the refusal to start, the emulator contract,
the health endpoint's dependency checks, TLS, releases and webhook delivery."""
import os
import time
import uuid

import psycopg2
import pytest
import requests

from conftest import STATE, compose, ssh, wait_health

pytestmark = pytest.mark.lane("both")

DB = {
    "tgquiz": {"port": 15432, "dbname": "tgquiznft_prod", "user": "postgres"},
    "toogoodtogo": {"port": 25432, "dbname": "toogoodtogo", "user": "toogoodtogo"},
}
TELEGRAM = "http://127.0.0.1:18081"


def connect(platform, secrets_file):
    d = DB[platform]
    return psycopg2.connect(host="127.0.0.1", port=d["port"], dbname=d["dbname"], user=d["user"],
                            password=secrets_file[platform]["postgres_password"], connect_timeout=5)


@pytest.mark.parametrize("platform", ["tgquiz", "toogoodtogo"])
def test_alembic_schema_through_published_port(platform, secrets_file):
    with connect(platform, secrets_file) as conn, conn.cursor() as cur:
        cur.execute("SELECT version_num FROM alembic_version")
        assert cur.fetchone()[0], "alembic_version is empty"
        cur.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'")
        columns = set(cur.fetchall())
    for table, column in [("users", "id"), ("quiz_results", "user_id"), ("quiz_results", "score"),
                          ("quiz_results", "completed_at"), ("quiz_results", "nft_minted"),
                          ("mint_transactions", "id"), ("mint_transactions", "status"),
                          ("mint_transactions", "created_at"), ("quizzes", "id")]:
        assert (table, column) in columns, "%s.%s missing from %s" % (table, column, platform)
    marketplace = {table for table, _column in columns} & {"stores", "offers", "orders", "payments"}
    assert marketplace == {"stores", "offers", "orders", "payments"}


@pytest.mark.lane("tgquiz")
def test_pg_stat_statements_is_loaded(secrets_file):
    with connect("tgquiz", secrets_file) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_statements")
        assert cur.fetchone()[0] > 0


@pytest.mark.lane("toogoodtogo")
def test_bot_refuses_to_start_without_secret_key():
    proc = compose("toogoodtogo", "run --rm -T --no-deps -e SECRET_KEY= bot", check=False, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 78, output
    assert "missing required environment variables" in output and "SECRET_KEY" in output, output
    assert "TELEGRAM_BOT_TOKEN" not in output.split("missing required environment variables")[1].splitlines()[0]


@pytest.mark.lane("toogoodtogo")
def test_telegram_emulator_answers_as_the_contract_says(secrets_file):
    token = secrets_file["toogoodtogo"]["bot_token"]
    bot_id = token.split(":")[0]
    # Malformed token: 401 with the server's exact description.
    r = requests.get(TELEGRAM + "/botnot-a-token/getMe", timeout=5)
    assert r.status_code == 401
    assert r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized: invalid token specified"}
    # Well-formed but unknown token: 401 Unauthorized, as the cloud answers (404 is for malformed paths).
    r = requests.get(TELEGRAM + "/bot%s:%s/getMe" % (bot_id[:-1] + "9", "x" * 35), timeout=5)
    assert r.status_code == 401 and r.json()["description"] == "Unauthorized"
    # Doubled prefix: 404 too.
    r = requests.get(TELEGRAM + "/botbot%s/getMe" % token, timeout=5)
    assert r.status_code == 404
    # Forced rate limit: 429 with retry_after in body and Retry-After header.
    requests.post(TELEGRAM + "/_control/bots/%s/ratelimit" % bot_id, json={"count": 1, "retry_after": 7},
                  timeout=5).raise_for_status()
    r = requests.get(TELEGRAM + "/bot%s/getMe" % token, timeout=5)
    assert r.status_code == 429
    body = r.json()
    assert body["description"] == "Too Many Requests: retry after 7"
    assert body["parameters"]["retry_after"] == 7 and r.headers["Retry-After"] == "7"
    r = requests.get(TELEGRAM + "/bot%s/getMe" % token, timeout=5)
    assert r.status_code == 200 and r.json()["result"]["id"] == int(bot_id)


@pytest.mark.lane("toogoodtogo")
def test_health_turns_unhealthy_when_postgres_stops():
    status, body = wait_health("toogoodtogo", "healthy")
    assert status == 200 and body["dependencies"]["postgres"]["status"] == "healthy"
    compose("toogoodtogo", "stop postgres")
    try:
        status, body = wait_health("toogoodtogo", "unhealthy", timeout=60)
        assert status == 503
        assert body["dependencies"]["postgres"]["status"] == "unhealthy"
        assert body["dependencies"]["redis"]["status"] == "healthy"
        assert isinstance(body["uptime_seconds"], int) and body["version"]
        # The app's dependency watcher logs ERROR lines (every 10 s) for the runbook's `grep ERROR`.
        deadline = time.monotonic() + 30
        while "ERROR: Connection to database failed" not in compose("toogoodtogo", "logs --since 2m bot").stdout:
            assert time.monotonic() < deadline, "no ERROR line in the bot's logs while postgres is down"
            time.sleep(2)
    finally:
        compose("toogoodtogo", "start postgres")
        wait_health("toogoodtogo", "healthy", timeout=120)


@pytest.mark.parametrize("platform,port", [("tgquiz", 18443), ("toogoodtogo", 28443)])
def test_nginx_serves_health_over_tls_signed_by_the_lab_ca(platform, port):
    r = requests.get("https://127.0.0.1:%d/health" % port, verify=os.path.join(STATE, "ca", "ca.crt"), timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "healthy"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get("https://127.0.0.1:%d/health" % port, timeout=10)  # system trust does not know the lab CA


@pytest.mark.parametrize("platform,repo", [("tgquiz", "/opt/tgquiz"), ("toogoodtogo", "/opt/toogoodtogo")])
def test_release_is_a_tagged_git_checkout_reported_by_health(platform, repo):
    tags = ssh(platform, "git -C %s tag --list" % repo).stdout.split()
    assert {"v1.0.0", "v1.1.0"} <= set(tags)
    head = ssh(platform, "git -C %s describe --tags --exact-match HEAD" % repo).stdout.strip()
    body = wait_health(platform)[1]
    assert body["version"] == head


@pytest.mark.lane("toogoodtogo")
def test_webhook_delivery_reaches_the_bot_through_nginx(secrets_file):
    s = secrets_file["toogoodtogo"]
    token, bot_id = s["bot_token"], s["bot_token"].split(":")[0]
    r = requests.post(TELEGRAM + "/bot%s/setWebhook" % token, timeout=5,
                      json={"url": "https://toogoodtogo.lab/webhook/telegram", "secret_token": s["webhook_secret"]})
    assert r.json()["ok"] is True, r.text
    chat_id = 700000 + uuid.uuid4().int % 100000
    update = {"update_id": chat_id, "message": {"message_id": 1, "date": int(time.time()), "text": "/start",
                                                "chat": {"id": chat_id, "type": "private"},
                                                "from": {"id": chat_id, "is_bot": False, "first_name": "Lab"}}}
    r = requests.post(TELEGRAM + "/_control/bots/%s/deliver" % bot_id, json={"update": update}, timeout=20)
    assert r.json()["delivered"] is True, r.text
    # The bot answers /start with sendMessage to the Telegram API (the emulator records it).
    deadline = time.monotonic() + 15
    while True:
        sent = requests.get(TELEGRAM + "/_control/bots/%s/sent" % bot_id, timeout=5).json()["messages"]
        if any(str(m.get("chat_id", m.get("chat", {}).get("id"))) == str(chat_id) for m in sent):
            break
        assert time.monotonic() < deadline, "the bot did not reply to /start: %r" % sent
        time.sleep(0.5)
    # A wrong secret is refused by the bot, and the emulator records the webhook error.
    time.sleep(1.1)  # setWebhook is limited to one a second per bot
    r = requests.post(TELEGRAM + "/bot%s/setWebhook" % token, timeout=5,
                      json={"url": "https://toogoodtogo.lab/webhook/telegram", "secret_token": "wrong-secret"})
    assert r.json()["ok"] is True, r.text
    r = requests.post(TELEGRAM + "/_control/bots/%s/deliver" % bot_id, json={"update": update}, timeout=20)
    assert r.json()["delivered"] is False
    info = requests.get(TELEGRAM + "/bot%s/getWebhookInfo" % token, timeout=5).json()["result"]
    assert info["last_error_message"].startswith("Wrong response from the webhook: 401")
    time.sleep(1.1)
    requests.post(TELEGRAM + "/bot%s/setWebhook" % token, timeout=5,
                  json={"url": "https://toogoodtogo.lab/webhook/telegram", "secret_token": s["webhook_secret"],
                        "drop_pending_updates": True}).raise_for_status()
