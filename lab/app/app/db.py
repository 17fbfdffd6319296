"""The SQLAlchemy engine (psycopg2, a small QueuePool) and the database failure log lines.

Logs the runbook greps for: ``ERROR: Connection to database failed: <class>`` followed by
``ERROR: sqlalchemy.exc.OperationalError: <first line>``; pool events and status lines contain
``pool``; queries slower than SLOW_QUERY_SECONDS log ``WARNING: Query took <n>s to complete``.
"""
import logging
import os
import socket
import threading
import time

import sqlalchemy
from sqlalchemy import event, exc
from sqlalchemy.engine import URL

from .logs import short_error

log = logging.getLogger("app.db")
CONNECT_TIMEOUT = 2
POOL_TIMEOUT = 1.5  # below the 2 s health deadline, so an exhausted pool is reported as such
probe_local = threading.local()  # a health probe puts a dict here to learn its DBAPI connection


def database_url(env):
    """DATABASE_URL when set, else postgresql+psycopg2 from POSTGRES_* (a URL object, password safe)."""
    if env.get("DATABASE_URL"):
        return sqlalchemy.engine.make_url(env["DATABASE_URL"])
    return URL.create(
        "postgresql+psycopg2",
        username=env.get("POSTGRES_USER") or "postgres",
        password=env.get("POSTGRES_PASSWORD") or None,
        host=env.get("POSTGRES_HOST") or "postgres",
        port=int(env.get("POSTGRES_PORT") or 5432),
        database=env.get("POSTGRES_DB") or "postgres",
    )


def settings_env(settings):
    return {"POSTGRES_USER": settings.postgres_user, "POSTGRES_PASSWORD": settings.postgres_password,
            "POSTGRES_HOST": settings.postgres_host, "POSTGRES_PORT": str(settings.postgres_port),
            "POSTGRES_DB": settings.postgres_db, "DATABASE_URL": os.environ.get("DATABASE_URL", "")}


def create_engine(url, pool_size=5, max_overflow=5, slow_query_seconds=1.0):
    connect_args = {}
    if url.get_backend_name() == "postgresql":
        # Bounded connects; TCP keepalives so a dead peer does not pin a pooled connection forever.
        connect_args = {"connect_timeout": CONNECT_TIMEOUT, "keepalives": 1, "keepalives_idle": 10,
                        "keepalives_interval": 3, "keepalives_count": 3,
                        "application_name": os.environ.get("APP_PLATFORM", "tgops-app")}
        engine = sqlalchemy.create_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                                          pool_timeout=POOL_TIMEOUT,
                                          pool_recycle=1800, connect_args=connect_args, future=True)
    else:  # sqlite, for tests
        engine = sqlalchemy.create_engine(url, future=True)
    _instrument(engine, slow_query_seconds)
    install_ping(engine)
    return engine


def install_ping(engine):
    """Ping on checkout (pessimistic disconnect handling) and let a health probe see its connection."""
    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, proxy):
        box = getattr(probe_local, "box", None)
        if box is not None:
            box["dbapi"] = dbapi_conn
        if record.info.pop("fresh", False):
            return
        try:
            cur = dbapi_conn.cursor()
            try:
                cur.execute("SELECT 1")
            finally:
                cur.close()
        except Exception as err:  # noqa: BLE001 - any driver error means a dead connection
            raise exc.DisconnectionError(type(err).__name__) from err

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, record):
        record.info["fresh"] = True


def _instrument(engine, slow_query_seconds):
    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("query_start", []).append(time.monotonic())

    @event.listens_for(engine, "after_cursor_execute")
    def _stop(conn, cursor, statement, parameters, context, executemany):
        started = conn.info["query_start"].pop()
        took = time.monotonic() - started
        if took >= slow_query_seconds:
            # Statements carry bind placeholders, never values.
            log.warning("Query took %.1fs to complete: %s", took, " ".join(statement.split())[:120])

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, record):
        log.info("db pool: new connection opened (%s)", pool_status(engine))

    @event.listens_for(engine, "invalidate")
    def _invalidate(dbapi_conn, record, exception):
        log.warning("db pool: connection invalidated (%s)",
                    type(exception).__name__ if exception is not None else "soft")


def pool_status(engine):
    pool = engine.pool
    if not hasattr(pool, "checkedout"):
        return pool.status()
    return "pool size=%d checked_out=%d overflow=%d checked_in=%d" % (
        pool.size(), pool.checkedout(), pool.overflow(), pool.checkedin())


def qualified_name(exc_obj):
    cls = type(exc_obj)
    return "%s.%s" % (cls.__module__, cls.__qualname__)


def log_db_failure(exc_obj, context=""):
    """The two ERROR lines operators grep for when the database is unreachable or erroring."""
    suffix = " (%s)" % context if context else ""
    if isinstance(exc_obj, exc.TimeoutError):
        log.error("Connection to database failed: %s: db pool exhausted%s", type(exc_obj).__name__, suffix)
    elif isinstance(exc_obj, (exc.OperationalError, exc.InterfaceError, OSError)):
        log.error("Connection to database failed: %s%s", type(exc_obj).__name__, suffix)
    else:
        log.error("Database error: %s%s", type(exc_obj).__name__, suffix)
    log.error("%s: %s", qualified_name(exc_obj), short_error(exc_obj).split(": ", 1)[-1])


def interrupt(dbapi_conn):
    """Unblock a thread stuck reading from this psycopg2 connection (peer frozen, not closed)."""
    try:
        fd = dbapi_conn.fileno()
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()
    except (OSError, AttributeError, ValueError):
        pass
