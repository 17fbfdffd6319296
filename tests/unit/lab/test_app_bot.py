"""The polling bot against a Telegram stub: offsets, /start, 409 / 401 / 404 / 429 handling, heartbeat."""
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy

from _app_fixtures import APP_DIR, BASE_ENV, Stub, TOKEN, app_sqlite_engine, closed_port, reset_logging, subprocess_env

from app import bot as botmod
from app import config, db, logs
from app.models import users
from app.telegram import TelegramClient

GET_UPDATES = "/bot%s/getUpdates" % TOKEN
SEND = "/bot%s/sendMessage" % TOKEN
SECRET_PART = TOKEN.split(":", 1)[1]


def start_update(update_id, user_id):
    return {"update_id": update_id, "message": {"message_id": update_id, "text": "/start", "date": 0,
                                                "from": {"id": user_id, "is_bot": False, "first_name": "U"},
                                                "chat": {"id": user_id, "type": "private"}}}


@pytest.fixture
def telegram():
    stub = Stub()
    stub.route("POST", SEND, 200, {"ok": True, "result": {}})
    yield stub
    stub.close()


@pytest.fixture
def engine(tmp_path):
    eng = app_sqlite_engine(tmp_path / "bot.db")
    yield eng
    eng.dispose()


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    logs.setup([TOKEN], stream=stream)
    yield stream
    reset_logging()


def make_bot(telegram, engine, beats):
    settings = config.load(dict(BASE_ENV, TELEGRAM_API_URL=telegram.url))
    return botmod.Bot(settings, engine, TelegramClient(telegram.url, TOKEN), heartbeat=beats.append)


def test_updates_are_handled_and_the_offset_advances(telegram, engine, log_stream):
    telegram.route("POST", GET_UPDATES, 200, {"ok": True, "result": [start_update(41, 1001), start_update(42, 1002)]})
    beats = []
    bot = make_bot(telegram, engine, beats)
    assert bot.poll_once() == 0
    first = telegram.calls(GET_UPDATES)[0]["json"]
    assert first["timeout"] == 25 and "offset" not in first
    with engine.connect() as conn:
        assert sorted(conn.execute(sqlalchemy.select(users.c.id)).scalars()) == [1001, 1002]
    assert [c["json"]["chat_id"] for c in telegram.calls(SEND)] == [1001, 1002]
    telegram.route("POST", GET_UPDATES, 200, {"ok": True, "result": []})
    assert bot.poll_once() == 0
    assert telegram.calls(GET_UPDATES)[1]["json"]["offset"] == 43
    assert beats and bot.state == "polling"


def test_database_failure_keeps_the_update_for_redelivery(telegram, log_stream):
    broken = db.create_engine(db.database_url({"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(closed_port()),
                                               "POSTGRES_PASSWORD": "x"}))
    telegram.route("POST", GET_UPDATES, 200, {"ok": True, "result": [start_update(7, 1)]})
    bot = make_bot(telegram, broken, [])
    assert bot.poll_once() == botmod.RETRY_SECONDS
    assert bot.offset is None  # not acknowledged: Telegram hands it out again
    lines = log_stream.getvalue().splitlines()
    assert "ERROR: Connection to database failed: OperationalError (update 7)" in lines
    assert any(line.startswith("ERROR: sqlalchemy.exc.OperationalError: (psycopg2.OperationalError)") for line in lines)
    assert telegram.calls(SEND) == []


@pytest.mark.parametrize("status,description,wait,line", [
    (409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
     5, "ERROR: Telegram getUpdates conflict: a webhook is set (409); delete the webhook to use polling"),
    (409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
     5, "ERROR: Telegram getUpdates conflict: another bot instance is polling with this token (409)"),
    (401, "Unauthorized", 30, "ERROR: Telegram rejected the bot token (401)"),
    (404, "Not Found", 30, "ERROR: Telegram rejected the bot token (404)"),
    (500, "Internal Server Error: boom", 5, "ERROR: Telegram getUpdates failed: 500 Internal Server Error: boom"),
])
def test_error_answers_are_logged_and_backed_off(telegram, engine, log_stream, status, description, wait, line):
    telegram.route("POST", GET_UPDATES, status, {"ok": False, "error_code": status, "description": description})
    bot = make_bot(telegram, engine, [])
    assert bot.poll_once() == wait
    out = log_stream.getvalue()
    assert line in out.splitlines()
    assert SECRET_PART not in out


def test_rate_limit_waits_retry_after_but_bounded(telegram, engine, log_stream):
    body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7}}
    telegram.route("POST", GET_UPDATES, 429, body, {"Retry-After": "7"})
    bot = make_bot(telegram, engine, [])
    assert bot.poll_once() == 7
    body["parameters"]["retry_after"] = 3600
    telegram.route("POST", GET_UPDATES, 429, body)
    assert bot.poll_once() == botmod.MAX_RETRY_AFTER


def test_sleep_keeps_the_heartbeat_fresh_and_stops_promptly(telegram, engine):
    beats = []
    bot = make_bot(telegram, engine, beats)
    bot.stop_event.set()
    started = time.monotonic()
    bot.sleep(30)
    assert time.monotonic() - started < 1


def test_bot_process_conflict_heartbeat_and_sigterm(telegram, tmp_path):
    """The real entry point: 409 logged without the token, heartbeat written, clean exit on SIGTERM."""
    telegram.route("POST", GET_UPDATES, 409, {"ok": False, "error_code": 409, "description": "Conflict: webhook"})
    heartbeat = tmp_path / "hb"
    env = subprocess_env(**BASE_ENV, TELEGRAM_API_URL=telegram.url, BOT_HEARTBEAT_FILE=str(heartbeat),
                         POSTGRES_HOST="127.0.0.1", POSTGRES_PORT="1", APP_PLATFORM="tgquiz")
    proc = subprocess.Popen([sys.executable, "-m", "app.bot"], cwd=APP_DIR, env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (heartbeat.exists() and telegram.calls(GET_UPDATES)):
            time.sleep(0.05)
        time.sleep(0.3)
        assert json.loads(heartbeat.read_text())["state"] == "conflict"
        check = subprocess.run([sys.executable, "-m", "app.healthcheck", "bot"], cwd=APP_DIR,
                               env=dict(env, BOT_HEARTBEAT_FILE=str(heartbeat)), capture_output=True, text=True,
                               check=False)
        assert check.returncode == 0 and "state=conflict" in check.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    lines = err.splitlines()
    with open(os.path.join(APP_DIR, "VERSION"), encoding="utf-8") as fh:
        assert lines[0] == "INFO: starting tgquiz version %s" % fh.read().strip()
    assert "ERROR: Telegram getUpdates conflict: a webhook is set (409); delete the webhook to use polling" in lines
    assert "INFO: received SIGTERM, shutting down" in lines
    assert SECRET_PART not in err


def test_sigterm_during_a_long_poll_stops_at_once(telegram, tmp_path):
    """Telegram holds getUpdates for up to 25 s: SIGTERM abandons the poll (its updates are confirmed only by the
    next offset, so none is lost) instead of keeping the container to its stop grace period."""
    release = threading.Event()

    def hold(_request):
        release.wait(20)
        return 200, {"ok": True, "result": []}, {}

    telegram.route("POST", GET_UPDATES, body=hold)
    env = subprocess_env(**BASE_ENV, TELEGRAM_API_URL=telegram.url, BOT_HEARTBEAT_FILE=str(tmp_path / "hb"),
                         POSTGRES_HOST="127.0.0.1", POSTGRES_PORT="1", APP_PLATFORM="tgquiz")
    proc = subprocess.Popen([sys.executable, "-m", "app.bot"], cwd=APP_DIR, env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not telegram.calls(GET_UPDATES):
            time.sleep(0.05)
        assert telegram.calls(GET_UPDATES), "the bot never polled"
        time.sleep(0.2)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
        took = time.monotonic() - started
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert took < 3, "SIGTERM took %.1f s to stop the bot" % took
    assert "INFO: received SIGTERM, shutting down" in err.splitlines() and "INFO: stopped" in err.splitlines()
    assert "Traceback" not in err
