"""Helpers for the reference application's tests (tests/unit/lab/test_app_*.py).

Puts lab/app on sys.path (the app imports as ``app`` exactly as in its container), and provides a
scriptable HTTP stub on 127.0.0.1 that records every request (stands in for Telegram, toncenter, Pinata).
"""
import json
import logging
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# lab/app is copied to the lab servers as a git repository: keep __pycache__ out of it.
sys.dont_write_bytecode = True
APP_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "lab", "app"))
if APP_DIR not in sys.path:
    sys.path.insert(0, APP_DIR)

import sqlalchemy  # noqa: E402

from app import db as _db  # noqa: E402
from app import logs as _logs  # noqa: E402
from app.models import metadata as _metadata  # noqa: E402

_ROOT_LEVEL = logging.getLogger().level


def reset_logging():
    """Undo ``app.logs.setup()``: drop its handlers and restore the root level (keeps pytest's handlers)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler.formatter, _logs.RedactingFormatter):
            root.removeHandler(handler)
    root.setLevel(_ROOT_LEVEL)


TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"
BASE_ENV = {
    "TELEGRAM_BOT_TOKEN": TOKEN,
    "POSTGRES_PASSWORD": "pg-Secret-Value-1",
    "SECRET_KEY": "app-Secret-Key-2",
}


def subprocess_env(**overrides):
    """A minimal, controlled environment for running the app's modules as subprocesses."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": APP_DIR, "PYTHONDONTWRITEBYTECODE": "1"}
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def app_sqlite_engine(path):
    """The app's engine on a SQLite file at ``path``, with the app's tables created."""
    engine = _db.create_engine(sqlalchemy.engine.make_url("sqlite:///%s" % path))
    _metadata.create_all(engine)
    return engine


def closed_port():
    """A 127.0.0.1 port with nothing listening (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stub:
    """HTTP stub: ``route(method, path, status, body, headers)``; ``requests`` records what came in."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                with stub.lock:
                    stub.requests.append({"method": self.command, "path": parts.path,
                                          "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                                          "headers": dict(self.headers.items()), "json": body})
                    answer = stub.routes.get((self.command, parts.path)) or stub.routes.get(("*", parts.path))
                if callable(answer):
                    answer = answer(stub.requests[-1])
                status, payload, headers = answer or (404, {"ok": False, "error_code": 404, "description": "Not Found"}, {})
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def route(self, method, path, status=200, body=None, headers=None):
        with self.lock:
            self.routes[(method, path)] = body if callable(body) else (status, body, headers or {})

    def calls(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
