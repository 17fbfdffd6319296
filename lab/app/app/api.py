"""HTTP API (``python3 -m app.api``): /health, /webhook/telegram, /api/stats on 0.0.0.0:$PORT."""
import hmac
import json
import logging
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import config, db, deps, handlers, logs
from .telegram import TelegramClient, TelegramError

log = logging.getLogger("app.api")
MAX_BODY = 1 << 20
RATE_LIMIT_PER_MINUTE = 20


class Application:
    """Request logic, independent of the HTTP plumbing (dependencies are injected)."""

    def __init__(self, settings, engine, checks, telegram=None, cache=None, executor=None):
        self.settings = settings
        self.engine = engine
        self.checks = checks
        self.telegram = telegram
        self.cache = cache
        self.executor = executor or ThreadPoolExecutor(max_workers=4, thread_name_prefix="reply")
        self.started = time.monotonic()

    def health(self):
        code, body = deps.report(self.checks, self.settings.version, self.started)
        # Which platform answered: behind a proxy, proof that the public URL reached the right app.
        body["platform"] = self.settings.app_platform
        return code, body

    def stats(self):
        try:
            body = handlers.quiz_stats(self.engine)
        except Exception as err:  # noqa: BLE001
            db.log_db_failure(err, "GET /api/stats")
            return 503, {"error": "database unavailable"}
        if self.cache is not None:
            try:  # snapshot for other consumers; what /api/stats answers always comes from the database
                self.cache.set("quiz:stats", json.dumps(body), ex=300)
            except Exception as err:  # noqa: BLE001
                log.warning("cache write failed: %s", logs.short_error(err))
        return 200, body

    def webhook_authorized(self, header_value):
        secret = self.settings.telegram_webhook_secret
        if not secret:
            return True
        if header_value is None:
            return False
        return hmac.compare_digest(header_value.encode("utf-8"), secret.encode("utf-8"))

    def rate_limited(self, user_id):
        if self.cache is None:
            return False
        key = "ratelimit:%s:%d" % (user_id, int(time.time() // 60))
        try:
            pipe = self.cache.pipeline()
            pipe.incr(key)
            pipe.expire(key, 120)
            count = pipe.execute()[0]
        except Exception as err:  # noqa: BLE001 - degrade: serve without rate limiting
            log.warning("rate limiting unavailable: %s", logs.short_error(err))
            return False
        return count > RATE_LIMIT_PER_MINUTE

    def reply(self, chat_id, text_):
        if self.telegram is None:
            return
        self.executor.submit(self._send, chat_id, text_)

    def _send(self, chat_id, text_):
        try:
            self.telegram.send_message(chat_id, text_)
        except TelegramError as err:
            log.error("Telegram sendMessage failed: %s %s", err.status, err.description)

    def webhook(self, header_value, raw):
        if not self.webhook_authorized(header_value):
            log.warning("webhook rejected: %s secret token header",
                        "missing" if header_value is None else "wrong")
            return 401, {"ok": False, "error": "unauthorized"}
        try:
            update = json.loads(raw.decode("utf-8"))
            if not isinstance(update, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            return 400, {"ok": False, "error": "invalid JSON update"}
        start = handlers.start_command(update)
        if start is not None and self.rate_limited(start[1]):
            log.warning("rate limited user %s", start[1])
            return 200, {"ok": True}
        try:
            handlers.handle_update(self.engine, self.settings.app_platform, update, self.reply)
        except Exception as err:  # noqa: BLE001
            db.log_db_failure(err, "POST /webhook/telegram")
            return 500, {"ok": False, "error": "internal error"}
        return 200, {"ok": True}


class Handler(BaseHTTPRequestHandler):
    server_version = "tgops-app"
    protocol_version = "HTTP/1.1"

    def _send(self, code, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _path(self):
        return (getattr(self, "path", None) or "-").split("?", 1)[0]

    def do_GET(self):  # noqa: N802 - http.server naming
        app = self.server.app
        path = self._path()
        if path == "/health":
            self._send(*app.health())
        elif path == "/api/stats":
            self._send(*app.stats())
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        app = self.server.app
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self._send(400, {"error": "bad Content-Length"})
            return
        if length > MAX_BODY:
            self.close_connection = True
            self._send(413, {"error": "body too large"})
            return
        raw = self.rfile.read(length) if length else b""
        if self._path() == "/webhook/telegram":
            self._send(*app.webhook(self.headers.get("X-Telegram-Bot-Api-Secret-Token"), raw))
        else:
            self._send(404, {"error": "not found"})

    def send_response(self, code, message=None):
        self._code = code
        super().send_response(code, message)

    def handle_one_request(self):
        self._started = time.monotonic()
        self._code = None
        super().handle_one_request()
        if self._code is not None:
            # Path without the query string: nothing secret reaches the log.
            log.info('%s "%s %s" %d %dms', self.client_address[0], self.command or "-", self._path(), self._code,
                     int((time.monotonic() - self._started) * 1000))

    def log_message(self, fmt, *args):  # silence http.server's own stderr lines
        return


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, app):
        super().__init__(address, Handler)
        self.app = app


def build(settings):
    engine = db.create_engine(db.database_url(db.settings_env(settings)), settings.db_pool_size,
                              settings.db_max_overflow, settings.slow_query_seconds)
    cache = deps.redis_client(settings.redis_url)
    checks = {"postgres": deps.PostgresCheck(engine), "redis": deps.RedisCheck(cache)}
    telegram = TelegramClient(settings.telegram_api_url, settings.telegram_bot_token)
    return Application(settings, engine, checks, telegram=telegram, cache=cache)


def main():
    settings = config.load_or_exit()
    logs.setup(settings.secrets())
    log.info("starting %s version %s", settings.app_platform, settings.version)
    if not settings.telegram_webhook_secret:
        log.warning("TELEGRAM_WEBHOOK_SECRET is not set: webhook requests are not authenticated")
    app = build(settings)
    server = Server(("0.0.0.0", settings.port), app)
    monitor = deps.Monitor(app.checks, app.engine, settings.monitor_interval)
    monitor.start()
    if settings.mint_worker_interval > 0:
        from .services.ton import retry_failed_mints as mints

        min_balance = mints.env_int(config.read_environment(), "MINT_MIN_BALANCE_NANOTON",
                                    mints.DEFAULT_MIN_BALANCE)
        mints.MintWorker(app.engine, settings, settings.mint_worker_interval, min_balance).start()
        log.info("mint worker every %ss", settings.mint_worker_interval)

    def _stop(signum, frame):
        log.info("received %s, shutting down", signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("api listening on 0.0.0.0:%d (%s)", settings.port, db.pool_status(app.engine))
    server.serve_forever()
    monitor.stop()
    server.server_close()
    app.executor.shutdown(wait=True)
    app.engine.dispose()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
