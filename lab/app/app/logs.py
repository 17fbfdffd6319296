"""Logging: ``LEVEL: message`` lines on stderr, with every secret redacted.

The Telegram token travels inside API URLs (``/bot<id>:<secret>/method``), also URL-quoted
(``%3A``); it is written ``bot<id>:***``. Every other configured secret is written ``***``.
"""
import logging
import re
import sys
from urllib.parse import quote

_TOKEN_IN_URL = re.compile(r"bot(\d+)(?::|%3A|%3a)[A-Za-z0-9_-]+")
_BARE_TOKEN = re.compile(r"\b(\d{5,})(?::|%3A|%3a)[A-Za-z0-9_-]{30,}")
FORMAT = "%(levelname)s: %(message)s"
_current = None


class Redactor:
    def __init__(self, secrets=()):
        self.secrets = []
        for secret in secrets:
            if secret and len(secret) >= 4:
                self.secrets.extend({secret, quote(secret, safe="")})
        self.secrets.sort(key=len, reverse=True)

    def __call__(self, text):
        text = _TOKEN_IN_URL.sub(r"bot\1:***", text)
        text = _BARE_TOKEN.sub(r"\1:***", text)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


class RedactingFormatter(logging.Formatter):
    def __init__(self, redactor, fmt=FORMAT):
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record):
        return self.redactor(super().format(record))


def setup(secrets=(), stream=None, level=logging.INFO):
    """Route the root logger to ``stream`` (stderr) through the redactor; return the redactor."""
    global _current
    redactor = _current = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(redactor))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old.formatter, RedactingFormatter):  # ours from an earlier setup()
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "requests", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return redactor


def short_error(exc, limit=200):
    """``ClassName: first line of the message``, redacted and bounded (safe for JSON answers)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = "%s: %s" % (type(exc).__name__, first) if first else type(exc).__name__
    text = (_current or Redactor())(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."
