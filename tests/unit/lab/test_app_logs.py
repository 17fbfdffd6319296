"""Secrets never reach a log line: the Telegram token is written bot<id>:***, other secrets ***."""
import io
import logging

import pytest

from _app_fixtures import TOKEN, closed_port, reset_logging

from app import logs
from app.telegram import TelegramClient, TelegramError

SECRET_PART = TOKEN.split(":", 1)[1]


@pytest.fixture
def capture():
    stream = io.StringIO()
    logs.setup(["pg-Secret-Value-1", "app-Secret-Key-2", TOKEN], stream=stream)
    yield stream
    reset_logging()


@pytest.mark.parametrize("message,expected", [
    ("GET https://api.telegram.org/bot%s/getMe" % TOKEN, "GET https://api.telegram.org/bot123456789:***/getMe"),
    ("quoted https://x/bot123456789%%3A%s/sendMessage" % SECRET_PART, "quoted https://x/bot123456789:***/sendMessage"),
    ("token is %s" % TOKEN, "token is 123456789:***"),
    ("other bot 987654321:%s" % ("Z" * 35), "other bot 987654321:***"),
    ("password pg-Secret-Value-1 and key app-Secret-Key-2", "password *** and key ***"),
])
def test_log_lines_are_redacted(capture, message, expected):
    logging.getLogger("app.test").error(message)
    assert capture.getvalue() == "ERROR: %s\n" % expected


def test_exception_tracebacks_are_redacted(capture):
    try:
        raise RuntimeError("failed calling /bot%s/getUpdates with pg-Secret-Value-1" % TOKEN)
    except RuntimeError:
        logging.getLogger("app.test").exception("boom")
    out = capture.getvalue()
    assert "bot123456789:***/getUpdates" in out and "***" in out
    assert SECRET_PART not in out and "pg-Secret-Value-1" not in out


def test_short_error_is_redacted_and_bounded(capture):
    text = logs.short_error(ValueError("url /bot%s/x\nsecond line" % TOKEN + "y" * 500))
    assert text.startswith("ValueError: url /bot123456789:***/x")
    assert SECRET_PART not in text and "second line" not in text
    assert len(text) <= 200


def test_transport_errors_do_not_carry_the_token():
    """requests puts the URL (with the token) into its exception text; the client drops it."""
    client = TelegramClient("http://127.0.0.1:%d" % closed_port(), TOKEN)
    with pytest.raises(TelegramError) as info:
        client.call("getMe", timeout=2)
    assert info.value.status == 0
    assert "ConnectionError" in str(info.value)
    assert SECRET_PART not in str(info.value) and SECRET_PART not in repr(info.value.__cause__)
