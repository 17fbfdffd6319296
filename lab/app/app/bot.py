"""The polling bot (``python3 -m app.bot``): getUpdates long polling, /start handling, heartbeat file.

Backoff: 409 (a webhook is set) and transport/5xx errors wait 5 s; 401/404 (token rejected) wait 30 s;
429 waits ``retry_after`` capped at 60 s. The heartbeat file is rewritten at least every 5 s while the
loop is alive, whatever Telegram answers (``python3 -m app.healthcheck bot`` reads it).
"""
import json
import logging
import os
import signal
import sys
import threading
import time
from urllib.parse import urlsplit

from . import config, db, handlers, logs
from .telegram import TelegramClient, TelegramError

log = logging.getLogger("app.bot")
HEARTBEAT_FILE = os.environ.get("BOT_HEARTBEAT_FILE", "/tmp/bot-heartbeat")
POLL_TIMEOUT = 25
RETRY_SECONDS = 5
TOKEN_RETRY_SECONDS = 30
MAX_RETRY_AFTER = 60


def write_heartbeat(state, path=None):
    path = path or HEARTBEAT_FILE
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"ts": time.time(), "state": state}, fh)
    os.replace(tmp, path)


class Interrupted(BaseException):
    """Raised by the stop signal's handler to abandon a long poll (see ``main``)."""


class Bot:
    def __init__(self, settings, engine, telegram, heartbeat=write_heartbeat, stop_event=None):
        self.settings = settings
        self.engine = engine
        self.telegram = telegram
        self.heartbeat = heartbeat
        self.stop_event = stop_event or threading.Event()
        self.offset = None
        self.state = "starting"
        self.long_polling = False

    def sleep(self, seconds):
        """Wait (interruptibly), keeping the heartbeat fresh."""
        deadline = time.monotonic() + seconds
        while not self.stop_event.is_set():
            self.heartbeat(self.state)
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.stop_event.wait(min(left, 5.0))

    def reply(self, chat_id, text_):
        try:
            self.telegram.send_message(chat_id, text_)
        except TelegramError as err:
            log.error("Telegram sendMessage failed: %s %s", err.status, err.description)

    def poll_once(self):
        """One getUpdates round trip; returns the seconds to wait before the next one."""
        self.heartbeat(self.state)
        payload = {"timeout": POLL_TIMEOUT, "allowed_updates": ["message"]}
        if self.offset is not None:
            payload["offset"] = self.offset
        self.long_polling = True
        try:
            updates = self.telegram.call("getUpdates", payload, timeout=POLL_TIMEOUT + 10)
        except TelegramError as err:
            return self._failed(err)
        finally:
            self.long_polling = False
        if self.state != "polling":
            log.info("polling getUpdates on %s", urlsplit(self.telegram.api_url).netloc)
        self.state = "polling"
        for update in updates or []:
            try:
                handlers.handle_update(self.engine, self.settings.app_platform, update, self.reply)
            except Exception as err:  # noqa: BLE001 - keep the update: Telegram redelivers from offset
                db.log_db_failure(err, "update %s" % update.get("update_id"))
                self.state = "database"
                return RETRY_SECONDS
            self.offset = update["update_id"] + 1
        return 0

    def _failed(self, err):
        if err.status == 409:
            self.state = "conflict"
            if "other getupdates" in (err.description or "").lower():
                log.error("Telegram getUpdates conflict: another bot instance is polling with this token (409)")
            else:
                log.error("Telegram getUpdates conflict: a webhook is set (409); delete the webhook to use polling")
            return RETRY_SECONDS
        if err.status in (401, 404):
            self.state = "unauthorized"
            log.error("Telegram rejected the bot token (%s)", err.status)
            return TOKEN_RETRY_SECONDS
        if err.status == 429:
            self.state = "rate_limited"
            wait = min(err.retry_after or RETRY_SECONDS, MAX_RETRY_AFTER)
            log.warning("Telegram rate limited getUpdates: retry after %s s (waiting %s s)", err.retry_after, wait)
            return wait
        self.state = "unreachable"
        log.error("Telegram getUpdates failed: %s %s", err.status, err.description)
        return RETRY_SECONDS

    def run(self):
        while not self.stop_event.is_set():
            wait = self.poll_once()
            if wait:
                self.sleep(wait)


def main():
    settings = config.load_or_exit()
    logs.setup(settings.secrets())
    log.info("starting %s version %s", settings.app_platform, settings.version)
    engine = db.create_engine(db.database_url(db.settings_env(settings)), settings.db_pool_size,
                              settings.db_max_overflow, settings.slow_query_seconds)
    bot = Bot(settings, engine, TelegramClient(settings.telegram_api_url, settings.telegram_bot_token))

    def _stop(signum, frame):
        log.info("received %s, shutting down", signal.Signals(signum).name)
        bot.stop_event.set()
        if bot.long_polling:
            # Abandon the poll at once rather than after up to POLL_TIMEOUT s: nothing is lost, Telegram
            # forgets updates only when a later getUpdates confirms them by offset.
            raise Interrupted

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        bot.run()
    except Interrupted:
        pass
    engine.dispose()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
