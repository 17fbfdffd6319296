"""Dependency checks behind /health and the background monitor.

Each check returns ``{"status": "healthy"|"unhealthy", "response_time_ms": int[, "error": str]}``
and finishes within its timeout (2 s) even when the peer is frozen rather than gone.
"""
import logging
import threading
import time
from pathlib import Path

from sqlalchemy import text

from . import db
from .logs import short_error

log = logging.getLogger("app.deps")
TIMEOUT = 2.0


def _result(started, error=None):
    out = {"status": "healthy" if error is None else "unhealthy",
           "response_time_ms": int(round((time.monotonic() - started) * 1000))}
    if error is not None:
        out["error"] = error
    return out


class PostgresCheck:
    """SELECT 1 through the application's pool, bounded by a deadline."""

    def __init__(self, engine, timeout=TIMEOUT):
        self.engine = engine
        self.timeout = timeout
        self._stuck = None  # set when a timed-out probe finally returns

    def _probe(self, box, done):
        db.probe_local.box = box
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1")).scalar_one()
        except Exception as err:  # noqa: BLE001 - reported, not raised
            box["error"] = err
        finally:
            db.probe_local.box = None
            done.set()

    def __call__(self):
        return self.run()[0]

    def run(self):
        """(result, exception or None)."""
        started = time.monotonic()
        if self._stuck is not None and not self._stuck.is_set():
            return _result(started, "previous check still waiting for postgres"), None
        box, done = {}, threading.Event()
        threading.Thread(target=self._probe, args=(box, done), name="pg-check", daemon=True).start()
        if not done.wait(self.timeout):
            self._stuck = done
            if box.get("dbapi") is not None:
                db.interrupt(box["dbapi"])
            return _result(started, "timeout after %d ms" % int(self.timeout * 1000)), None
        err = box.get("error")
        return _result(started, None if err is None else short_error(err)), err


class RedisCheck:
    """PING, then a small write (a full Redis under ``noeviction`` answers OOM to writes only)."""

    PROBE_KEY = "health:probe"
    MEMORY_LIMIT_RATIO = 0.95

    def __init__(self, client):
        self.client = client

    def __call__(self):
        return self.run()[0]

    def run(self):
        """(result, exception or None)."""
        started = time.monotonic()
        try:
            self.client.ping()
            self.client.set(self.PROBE_KEY, str(int(time.time())), ex=60)
            memory = self.client.info("memory")
        except Exception as err:  # noqa: BLE001 - reported, not raised
            message = str(err)
            if message.startswith("OOM"):
                return _result(started, message.splitlines()[0][:160]), err
            return _result(started, short_error(err)), err
        used, limit = int(memory.get("used_memory") or 0), int(memory.get("maxmemory") or 0)
        if limit and used >= self.MEMORY_LIMIT_RATIO * limit:
            # Writes start failing with OOM at the limit (noeviction); flag it just before.
            return _result(started, "OOM: used_memory %.1f MiB is %d%% of maxmemory %.1f MiB"
                           % (used / 1048576, used * 100 // limit, limit / 1048576)), None
        return _result(started), None


def redis_client(url):
    import redis  # local import: the unit tests of other modules need no redis package

    return redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT,
                                retry_on_timeout=False, health_check_interval=0)


def report(checks, version, started_monotonic):
    """Run every check; return (http status, /health body)."""
    deps = {name: check() for name, check in checks.items()}
    if deps.get("postgres", {}).get("status") != "healthy":
        status, code = "unhealthy", 503
    elif any(d["status"] != "healthy" for d in deps.values()):
        status, code = "degraded", 200
    else:
        status, code = "healthy", 200
    return code, {"status": status, "version": version,
                  "uptime_seconds": int(time.monotonic() - started_monotonic), "dependencies": deps}


def memory_usage():
    """(used, limit) bytes of this container's cgroup, or None when unlimited/unknown."""
    candidates = (("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory.max"),
                  ("/sys/fs/cgroup/memory/memory.usage_in_bytes", "/sys/fs/cgroup/memory/memory.limit_in_bytes"))
    for used_path, limit_path in candidates:
        try:
            used = int(Path(used_path).read_text().strip())
            limit_text = Path(limit_path).read_text().strip()
        except (OSError, ValueError):
            continue
        if limit_text == "max" or int(limit_text) >= 1 << 60:
            return None
        return used, int(limit_text)
    return None


class Monitor(threading.Thread):
    """Every ``interval`` seconds: check dependencies, log failures as ERROR, log pool status."""

    def __init__(self, checks, engine=None, interval=10.0, memory=memory_usage):
        super().__init__(name="monitor", daemon=True)
        self.checks = checks
        self.engine = engine
        self.interval = interval
        self.memory = memory
        self.stop_event = threading.Event()
        self._last_pool = None
        self._last_pool_log = 0.0
        self._was_failing = set()

    def tick(self):
        for name, check in self.checks.items():
            result, err = check.run() if hasattr(check, "run") else (check(), None)
            if result["status"] == "healthy":
                if name in self._was_failing:
                    log.info("%s recovered (%d ms)", name, result["response_time_ms"])
                    self._was_failing.discard(name)
                continue
            self._was_failing.add(name)
            if name == "postgres":
                if err is not None:
                    db.log_db_failure(err, "health monitor")
                else:
                    log.error("Connection to database failed: %s (health monitor)", result.get("error"))
            else:
                log.error("%s check failed: %s", name.capitalize(), result.get("error"))
        if self.engine is not None:
            status = db.pool_status(self.engine)
            now = time.monotonic()
            if status != self._last_pool or now - self._last_pool_log >= 60:
                pool = self.engine.pool
                busy = hasattr(pool, "checkedout") and pool.checkedout() >= pool.size()
                (log.warning if busy else log.info)("db %s", status)
                self._last_pool, self._last_pool_log = status, now
        usage = self.memory() if self.memory else None
        if usage and usage[0] > 0.85 * usage[1]:
            log.warning("Memory usage above 85%% (%d of %d MiB)", usage[0] >> 20, usage[1] >> 20)

    def run(self):
        while not self.stop_event.wait(self.interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the monitor must survive anything
                log.exception("health monitor failed")

    def stop(self):
        self.stop_event.set()
