"""/health through the real HTTP server: JSON shape, status and HTTP codes; the dependency checks."""
import io
import json
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
import sqlalchemy

from _app_fixtures import APP_DIR, BASE_ENV, closed_port, reset_logging, subprocess_env

from app import api, config, db, deps, healthcheck, logs

HEALTHY = {"status": "healthy", "response_time_ms": 3}
UNHEALTHY = {"status": "unhealthy", "response_time_ms": 2001, "error": "timeout after 2000 ms"}


def fixed(result):
    return lambda: dict(result)


@pytest.fixture
def serve():
    servers = []

    def _serve(checks, **settings):
        app = api.Application(config.load(dict(BASE_ENV, **settings)), engine=None, checks=checks)
        server = api.Server(("127.0.0.1", 0), app)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return "http://127.0.0.1:%d" % server.server_address[1], app

    yield _serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("pg,redis_,status,code", [
    (HEALTHY, HEALTHY, "healthy", 200),
    (HEALTHY, UNHEALTHY, "degraded", 200),
    (UNHEALTHY, HEALTHY, "unhealthy", 503),
    (UNHEALTHY, UNHEALTHY, "unhealthy", 503),
])
def test_health_status_and_code(serve, pg, redis_, status, code):
    url, app = serve({"postgres": fixed(pg), "redis": fixed(redis_)})
    resp = requests.get(url + "/health", timeout=5)
    assert resp.status_code == code
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert set(body) == {"status", "version", "uptime_seconds", "dependencies", "platform"}
    # Behind nginx, the platform field proves the public URL reached this platform's app.
    assert body["platform"] == app.settings.app_platform
    assert body["status"] == status
    assert body["version"] == app.settings.version and body["version"] != "unknown"
    assert isinstance(body["uptime_seconds"], int) and body["uptime_seconds"] >= 0
    assert body["dependencies"] == {"postgres": pg, "redis": redis_}


def test_checks_run_on_every_request(serve):
    calls = []
    url, _app = serve({"postgres": lambda: calls.append(1) or dict(HEALTHY), "redis": fixed(HEALTHY)})
    for _attempt in range(3):
        requests.get(url + "/health", timeout=5)
    assert len(calls) == 3


def test_unknown_path_is_404_and_query_strings_stay_out_of_logs(serve):
    stream = io.StringIO()
    logs.setup(stream=stream)
    try:
        url, _app = serve({"postgres": fixed(HEALTHY), "redis": fixed(HEALTHY)})
        assert requests.get(url + "/nope", timeout=5).status_code == 404
        assert requests.get(url + "/health?token=abc123secret", timeout=5).status_code == 200
        # The access line is written once the answer is out: give the server thread a moment.
        deadline = time.monotonic() + 3
        while stream.getvalue().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        reset_logging()
    lines = stream.getvalue().splitlines()
    assert any(line.startswith('INFO: 127.0.0.1 "GET /nope" 404 ') for line in lines)
    assert any(line.startswith('INFO: 127.0.0.1 "GET /health" 200 ') for line in lines)
    assert "abc123secret" not in stream.getvalue()


def test_postgres_check_healthy_through_the_pool(tmp_path):
    engine = db.create_engine(sqlalchemy.engine.make_url("sqlite:///%s" % (tmp_path / "h.db")))
    result = deps.PostgresCheck(engine)()
    assert result["status"] == "healthy" and isinstance(result["response_time_ms"], int)
    assert "error" not in result


def test_postgres_check_unreachable_is_fast_and_short():
    env = {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(closed_port()), "POSTGRES_PASSWORD": "pw-Hidden-9"}
    engine = db.create_engine(db.database_url(env))
    started = time.monotonic()
    result = deps.PostgresCheck(engine)()
    assert time.monotonic() - started < 2.5
    assert result["status"] == "unhealthy"
    assert result["error"].startswith("OperationalError: ")
    assert "pw-Hidden-9" not in result["error"]


class _BlockingEngine:
    """connect() hangs like a frozen (paused) PostgreSQL."""

    def __init__(self):
        self.release = threading.Event()

    def connect(self):
        self.release.wait(10)
        raise RuntimeError("released")


def test_postgres_check_is_bounded_when_the_server_is_frozen():
    engine = _BlockingEngine()
    check = deps.PostgresCheck(engine, timeout=0.3)
    started = time.monotonic()
    first = check()
    assert time.monotonic() - started < 1.0
    assert first["status"] == "unhealthy" and first["error"] == "timeout after 300 ms"
    # While the stuck probe is still waiting, no new thread piles up behind it.
    second = check()
    assert second["error"] == "previous check still waiting for postgres"
    engine.release.set()
    time.sleep(0.1)
    assert check()["error"] != "previous check still waiting for postgres"


class _FakeRedis:
    def __init__(self, fail=None, used=1 << 20, maxmemory=64 << 20):
        self.fail, self.used, self.maxmemory = fail, used, maxmemory
        self.writes = []

    def ping(self):
        return True

    def set(self, key, value, ex=None):
        if self.fail:
            raise self.fail
        self.writes.append((key, ex))

    def info(self, section):
        return {"used_memory": self.used, "maxmemory": self.maxmemory}


def test_redis_check_states():
    import redis

    fake = _FakeRedis()
    assert deps.RedisCheck(fake)()["status"] == "healthy"
    assert fake.writes == [("health:probe", 60)]

    oom = deps.RedisCheck(_FakeRedis(fail=redis.exceptions.ResponseError(
        "OOM command not allowed when used memory > 'maxmemory'.")))()
    assert oom["status"] == "unhealthy"
    assert oom["error"] == "OOM command not allowed when used memory > 'maxmemory'."

    nearly_full = deps.RedisCheck(_FakeRedis(used=63 << 20))()
    assert nearly_full["status"] == "unhealthy" and nearly_full["error"].startswith("OOM: used_memory 63.0 MiB is 98%")

    unlimited = deps.RedisCheck(_FakeRedis(used=63 << 20, maxmemory=0))()
    assert unlimited["status"] == "healthy"


def test_redis_check_against_a_closed_port():
    client = deps.redis_client("redis://127.0.0.1:%d/0" % closed_port())
    result = deps.RedisCheck(client)()
    assert result["status"] == "unhealthy" and result["error"].startswith("ConnectionError")


def test_monitor_logs_the_runbook_error_lines_and_pool_status():
    env = {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(closed_port()), "POSTGRES_PASSWORD": "pw-Hidden-9"}
    engine = db.create_engine(db.database_url(env))
    stream = io.StringIO()
    logs.setup(["pw-Hidden-9"], stream=stream)
    try:
        monitor = deps.Monitor({"postgres": deps.PostgresCheck(engine),
                                "redis": fixed(dict(UNHEALTHY, error="OOM command not allowed"))},
                               engine, interval=60, memory=lambda: (90, 100))
        monitor.tick()
    finally:
        reset_logging()
    lines = stream.getvalue().splitlines()
    assert "ERROR: Connection to database failed: OperationalError (health monitor)" in lines
    assert any(line.startswith("ERROR: sqlalchemy.exc.OperationalError: (psycopg2.OperationalError)") for line in lines)
    assert "ERROR: Redis check failed: OOM command not allowed" in lines
    assert any(line.startswith("INFO: db pool size=5 checked_out=0") for line in lines)
    assert any(line.startswith("WARNING: Memory usage above 85%") for line in lines)
    assert "pw-Hidden-9" not in stream.getvalue()


def test_healthcheck_module_against_the_real_server(serve, monkeypatch):
    url, _app = serve({"postgres": fixed(HEALTHY), "redis": fixed(UNHEALTHY)})
    port = url.rsplit(":", 1)[1]
    assert healthcheck.check_api(port) == (True, "status=degraded")
    url2, _app2 = serve({"postgres": fixed(UNHEALTHY), "redis": fixed(HEALTHY)})
    assert healthcheck.check_api(url2.rsplit(":", 1)[1]) == (False, "HTTP 503 status=unhealthy")
    assert healthcheck.check_api(str(closed_port()))[0] is False


def test_healthcheck_bot_heartbeat_age(tmp_path):
    path = tmp_path / "hb"
    assert healthcheck.check_bot(str(path))[0] is False
    path.write_text(json.dumps({"ts": 1000.0, "state": "conflict"}))
    assert healthcheck.check_bot(str(path), now=1030.0) == (True, "heartbeat 30s old, state=conflict")
    assert healthcheck.check_bot(str(path), now=1061.0)[0] is False


def test_api_process_end_to_end(tmp_path):
    """``python3 -m app.api``: start line, /health degraded with Redis down, healthcheck, clean SIGTERM."""

    port = closed_port()
    env = subprocess_env(**BASE_ENV, DATABASE_URL="sqlite:///%s" % (tmp_path / "api.db"), PORT=str(port),
                         REDIS_URL="redis://127.0.0.1:%d/0" % closed_port(), APP_PLATFORM="toogoodtogo",
                         MONITOR_INTERVAL_SECONDS="0.2")
    proc = subprocess.Popen([sys.executable, "-m", "app.api"], cwd=APP_DIR, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        body = None
        while time.monotonic() < deadline:
            try:
                resp = requests.get("http://127.0.0.1:%d/health" % port, timeout=3)
                body = resp.json()
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert resp.status_code == 200 and body["status"] == "degraded"
        assert body["dependencies"]["postgres"]["status"] == "healthy"
        assert body["dependencies"]["redis"]["error"].startswith("ConnectionError")
        check = subprocess.run([sys.executable, "-m", "app.healthcheck", "api"], cwd=APP_DIR, env=env,
                               capture_output=True, text=True, timeout=10, check=False)
        assert check.returncode == 0 and check.stdout.strip() == "healthy: status=degraded"
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    lines = err.splitlines()
    assert lines[0] == "INFO: starting toogoodtogo version %s" % config.read_version()
    assert "WARNING: TELEGRAM_WEBHOOK_SECRET is not set: webhook requests are not authenticated" in lines
    assert any(line.startswith("ERROR: Redis check failed: ConnectionError") for line in lines)
    assert any(line.startswith("INFO: db pool") for line in lines)
    assert "INFO: stopped" in lines
    for secret in BASE_ENV.values():
        assert secret not in err


def test_runbook_engine_import_check(tmp_path):
    """toogoodtogo runbook: ``python -c "from src.storage.database import engine; print('OK')"``."""

    code = "from src.storage.database import engine; print('OK')"
    ok = subprocess.run([sys.executable, "-c", code], cwd=APP_DIR, capture_output=True, text=True, timeout=30,
                        env=subprocess_env(DATABASE_URL="sqlite:///%s" % (tmp_path / "x.db")), check=False)
    assert ok.returncode == 0 and ok.stdout == "OK\n", ok.stderr
    down = subprocess.run([sys.executable, "-c", code], cwd=APP_DIR, capture_output=True, text=True, timeout=30,
                          env=subprocess_env(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=str(closed_port()),
                                             POSTGRES_PASSWORD="pw-Hidden-9"), check=False)
    assert down.returncode == 1 and down.stdout == ""
    assert "sqlalchemy.exc.OperationalError" in down.stderr
    assert "pw-Hidden-9" not in down.stderr


def test_slow_queries_and_pool_exhaustion_are_logged(tmp_path):
    engine = db.create_engine(sqlalchemy.engine.make_url("sqlite:///%s" % (tmp_path / "s.db")), slow_query_seconds=0.05)
    stream = io.StringIO()
    logs.setup(stream=stream)
    try:
        with engine.connect() as conn:
            conn.connection.dbapi_connection.create_function("pause", 1, lambda s: time.sleep(s) or 1)
            conn.execute(sqlalchemy.text("SELECT pause(0.1)"))
            conn.execute(sqlalchemy.text("SELECT 1"))
        db.log_db_failure(sqlalchemy.exc.TimeoutError("QueuePool limit of size 5 overflow 5 reached"), "GET /api/stats")
    finally:
        reset_logging()
    lines = stream.getvalue().splitlines()
    slow = [line for line in lines if line.startswith("WARNING: Query took ")]
    assert len(slow) == 1 and slow[0].endswith("s to complete: SELECT pause(0.1)")
    assert "ERROR: Connection to database failed: TimeoutError: db pool exhausted (GET /api/stats)" in lines
    assert "ERROR: sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 5 reached" in lines
