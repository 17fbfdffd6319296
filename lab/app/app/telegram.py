"""A minimal Telegram Bot API client (requests). Errors never carry the token."""
import logging

import requests

log = logging.getLogger("app.telegram")


class TelegramError(Exception):
    def __init__(self, method, status, description, retry_after=None):
        super().__init__("%s: %s %s" % (method, status, description))
        self.method = method
        self.status = status
        self.description = description
        self.retry_after = retry_after


class TelegramClient:
    def __init__(self, api_url, token, session=None):
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.session = session or requests.Session()

    def _url(self, method):
        return "%s/bot%s/%s" % (self.api_url, self._token, method)

    def call(self, method, payload=None, timeout=10.0):
        """POST JSON; return ``result`` or raise TelegramError (status 0 = transport failure)."""
        try:
            resp = self.session.post(self._url(method), json=payload or {}, timeout=timeout)
        except requests.RequestException as err:
            # requests' messages contain the URL, hence the token: keep only the class.
            raise TelegramError(method, 0, "transport error: %s" % type(err).__name__) from None
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code == 200 and isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        description = body.get("description") if isinstance(body, dict) else None
        params = body.get("parameters") if isinstance(body, dict) else None
        retry_after = None
        if isinstance(params, dict) and isinstance(params.get("retry_after"), int):
            retry_after = params["retry_after"]
        elif resp.headers.get("Retry-After", "").isdigit():
            retry_after = int(resp.headers["Retry-After"])
        status = body.get("error_code", resp.status_code) if isinstance(body, dict) else resp.status_code
        raise TelegramError(method, status, description or resp.reason or "error", retry_after)

    def send_message(self, chat_id, text_):
        return self.call("sendMessage", {"chat_id": chat_id, "text": text_})
