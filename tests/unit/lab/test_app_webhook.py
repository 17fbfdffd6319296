"""POST /webhook/telegram and GET /api/stats through the real server (SQLite stands in for PostgreSQL)."""
import io
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy

from _app_fixtures import BASE_ENV, Stub, TOKEN, app_sqlite_engine, closed_port, reset_logging

from app import api, config, db, logs
from app.models import quiz_results, quizzes, users

START = {"update_id": 10, "message": {"message_id": 1, "text": "/start", "date": 0,
                                      "from": {"id": 777000111, "is_bot": False, "first_name": "A", "username": "alice"},
                                      "chat": {"id": 777000111, "type": "private"}}}
HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
def telegram():
    stub = Stub()
    stub.route("POST", "/bot%s/sendMessage" % TOKEN, 200, {"ok": True, "result": {"message_id": 2}})
    yield stub
    stub.close()


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = app_sqlite_engine(tmp_path / "app.db")
    yield engine
    engine.dispose()


@pytest.fixture
def serve(telegram):
    servers = []

    def _serve(engine, **settings):
        settings = config.load(dict(BASE_ENV, TELEGRAM_API_URL=telegram.url, **settings))
        from app.telegram import TelegramClient

        app = api.Application(settings, engine, checks={}, telegram=TelegramClient(settings.telegram_api_url, TOKEN))
        server = api.Server(("127.0.0.1", 0), app)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return "http://127.0.0.1:%d" % server.server_address[1]

    yield _serve
    for server in servers:
        server.shutdown()
        server.server_close()


def user_rows(engine):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sqlalchemy.select(users.c.id, users.c.username))]


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("headers", [{}, {HEADER: "wrong-secret"}, {HEADER: ""}, {HEADER: "hook-Secret-3x"}])
def test_wrong_or_missing_secret_is_401_and_nothing_is_processed(serve, sqlite_engine, telegram, headers):
    url = serve(sqlite_engine, TELEGRAM_WEBHOOK_SECRET="hook-Secret-3")
    resp = requests.post(url + "/webhook/telegram", json=START, headers=headers, timeout=5)
    assert resp.status_code == 401
    time.sleep(0.2)
    assert user_rows(sqlite_engine) == []
    assert telegram.requests == []


def test_start_with_the_right_secret_stores_the_user_and_replies(serve, sqlite_engine, telegram):
    url = serve(sqlite_engine, TELEGRAM_WEBHOOK_SECRET="hook-Secret-3")
    resp = requests.post(url + "/webhook/telegram", json=START, headers={HEADER: "hook-Secret-3"}, timeout=5)
    assert resp.status_code == 200 and resp.json() == {"ok": True}
    assert user_rows(sqlite_engine) == [(777000111, "alice")]
    assert wait_for(lambda: telegram.calls("/bot%s/sendMessage" % TOKEN))
    sent = telegram.calls("/bot%s/sendMessage" % TOKEN)[0]["json"]
    assert sent["chat_id"] == 777000111 and "Welcome" in sent["text"]
    # A second /start with a new username updates the row (upsert), still one user.
    again = dict(START, update_id=11, message=dict(START["message"], **{"from": dict(START["message"]["from"], username="alice2")}))
    assert requests.post(url + "/webhook/telegram", json=again, headers={HEADER: "hook-Secret-3"}, timeout=5).status_code == 200
    assert user_rows(sqlite_engine) == [(777000111, "alice2")]


def test_without_a_configured_secret_updates_are_accepted(serve, sqlite_engine):
    url = serve(sqlite_engine)
    assert requests.post(url + "/webhook/telegram", json=START, timeout=5).status_code == 200
    assert user_rows(sqlite_engine) == [(777000111, "alice")]


def test_non_start_updates_and_bad_json(serve, sqlite_engine, telegram):
    url = serve(sqlite_engine)
    other = {"update_id": 12, "message": {"text": "hello", "from": {"id": 5}, "chat": {"id": 5}}}
    assert requests.post(url + "/webhook/telegram", json=other, timeout=5).status_code == 200
    assert requests.post(url + "/webhook/telegram", data=b"{not json", timeout=5).status_code == 400
    time.sleep(0.2)
    assert user_rows(sqlite_engine) == [] and telegram.requests == []


def test_database_failure_answers_500_and_logs_the_runbook_lines(serve, telegram):
    engine = db.create_engine(db.database_url({"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(closed_port()),
                                               "POSTGRES_PASSWORD": "x"}))
    url = serve(engine)
    stream = io.StringIO()
    logs.setup(stream=stream)
    try:
        resp = requests.post(url + "/webhook/telegram", json=START, timeout=10)
    finally:
        reset_logging()
    assert resp.status_code == 500
    lines = stream.getvalue().splitlines()
    assert "ERROR: Connection to database failed: OperationalError (POST /webhook/telegram)" in lines
    assert any(line.startswith("ERROR: sqlalchemy.exc.OperationalError: ") for line in lines)
    assert telegram.requests == []


def test_stats_are_the_runbook_totals(serve, sqlite_engine):
    now = datetime.now(timezone.utc)
    with sqlite_engine.begin() as conn:
        conn.execute(users.insert(), [{"id": 1, "username": "a"}, {"id": 2, "username": "b"}, {"id": 3, "username": None}])
        conn.execute(quizzes.insert(), [{"id": 1, "title": "TON basics"}])
        conn.execute(quiz_results.insert(), [
            {"user_id": 1, "quiz_id": 1, "score": 80, "nft_minted": True, "completed_at": now},
            {"user_id": 1, "quiz_id": 1, "score": 90, "nft_minted": False, "completed_at": now},
            {"user_id": 2, "quiz_id": 1, "score": 55, "nft_minted": True, "completed_at": now - timedelta(days=30)},
        ])
    url = serve(sqlite_engine)
    resp = requests.get(url + "/api/stats", timeout=5)
    assert resp.status_code == 200
    assert resp.json() == {"total_completions": 3, "unique_users": 2, "avg_score": 75.0, "nfts_minted": 2,
                           "active_users_7d": 1}


def test_stats_on_an_empty_database(serve, sqlite_engine):
    url = serve(sqlite_engine)
    assert requests.get(url + "/api/stats", timeout=5).json() == {
        "total_completions": 0, "unique_users": 0, "avg_score": None, "nfts_minted": 0, "active_users_7d": 0}


@pytest.mark.parametrize("length,code", [(b"abc", 400), (b"-5", 400), (b"99999999", 413)])
def test_bad_content_length_is_refused_without_reading(serve, sqlite_engine, length, code):
    import socket

    url = serve(sqlite_engine)
    host, port = url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /webhook/telegram HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n")
        status_line = sock.recv(200).split(b"\r\n")[0]
    assert status_line.startswith(b"HTTP/1.1 %d " % code)
    assert user_rows(sqlite_engine) == []
