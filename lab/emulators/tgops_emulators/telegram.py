"""Telegram Bot API emulator (``/bot<token>/<method>``), built from api-contracts.md.

Implements getMe, setWebhook, deleteWebhook, getWebhookInfo, getUpdates, sendMessage, logOut and
close, plus real webhook delivery over TLS driven by the control API. Any other method is 404
``Not Found``, as an unknown method is on the real server.
"""
import http
import http.client
import ipaddress
import json
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse

from .common import ControlError, Emulator, control_json, json_response, mask_query, parse_form_params

# Update types in the Bot API's own order; the default set omits the three opt-in types.
# Client::UpdateType of telegram-bot-api 10.0, in its order (getWebhookInfo lists them so). custom_event and
# custom_query are accepted in allowed_updates but never listed (JsonUpdateTypes skips them).
UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "inline_query", "chosen_inline_result",
    "callback_query", "custom_event", "custom_query", "shipping_query", "pre_checkout_query", "poll", "poll_answer",
    "my_chat_member", "chat_member", "chat_join_request", "chat_boost", "removed_chat_boost", "message_reaction",
    "message_reaction_count", "business_connection", "business_message", "edited_business_message",
    "deleted_business_messages", "purchased_paid_media", "managed_bot", "guest_message",
)
UNLISTED_UPDATE_TYPES = ("custom_event", "custom_query")
OPT_IN_UPDATE_TYPES = ("chat_member", "message_reaction", "message_reaction_count")
DEFAULT_UPDATE_TYPES = tuple(t for t in UPDATE_TYPES if t not in OPT_IN_UPDATE_TYPES)
MAX_CERTIFICATE_FILE_SIZE = 3 << 20  # Client::MAX_CERTIFICATE_FILE_SIZE

WEBHOOK_PORTS = (80, 88, 443, 8443)
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]*$")
MAX_POLL_TIMEOUT = 50
KEEP = object()  # allowed_updates that leave the previous setting in place
DELIVERY_TIMEOUT = 5.0

MSG_WEBHOOK_CONFLICT = ("Conflict: can't use getUpdates method while webhook is active; "
                        "use deleteWebhook to delete the webhook first")
MSG_POLL_CONFLICT = ("Conflict: terminated by other getUpdates request; "
                     "make sure that only one bot instance is running")
MSG_POLL_SETWEBHOOK = "Conflict: terminated by setWebhook request"


def certificate_loads(data):
    """Whether OpenSSL takes ``data`` as a file of trusted certificates (what SSL_CTX_load_verify_locations
    does with the uploaded certificate): PEM with at least one certificate that parses."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return False
    try:
        ssl.create_default_context(cafile=None, cadata=text)
    except (ssl.SSLError, ValueError):
        return False
    return True


class ApiError(Exception):
    def __init__(self, code, description, retry_after=None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def token_shape_ok(token):
    """The server-side shape check of the contract (not the stricter ``\\d{8,10}:.{35}`` heuristic)."""
    if len(token) > 80 or "/" in token or ":" not in token:
        return False
    bot_id = token.split(":", 1)[0]
    if not bot_id.isascii() or not bot_id.isdigit() or bot_id.startswith("0"):
        return False
    return 0 < int(bot_id) < 2 ** 54


def parse_bool(value):
    """tdlib/telegram-bot-api ``Client::to_bool``: lowercased and trimmed, "true", "yes" or "1"."""
    return str(value).strip().lower() in ("true", "yes", "1")


# tdlib's ``IPAddress::is_reserved`` blocks (td/tdutils/td/utils/port/IPAddress.cpp): the Bot API server
# refuses a webhook whose address falls in one of them.
RESERVED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3"))
UNKNOWN_IP = "<unknown>"


def check_webhook_ip(text):
    """WebhookActor::check_ip_address: None when the address may take webhooks, else the error text."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return "Invalid IP address specified"
    if addr.version != 4:
        return "IPv6-only addresses are not allowed"
    if any(addr in net for net in RESERVED_NETWORKS):
        return "IP address %s is reserved" % addr
    return None


def system_resolve(host):
    """The host's addresses, IPv4 first (GetHostByNameActor with prefer_ipv6=false); OSError when none."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    addrs = [info[4][0] for info in infos]
    v4 = [a for a in addrs if ":" not in a]
    return v4 + [a for a in addrs if ":" in a]


def td_to_integer(value):
    """tdlib's to_integer: leading sign and digits, anything else stops the parse (garbage is 0)."""
    match = re.match(r"\s*(-?\d+)", value or "")
    return int(match.group(1)) if match else 0


def parse_resolve(text):
    """``host=target[:port],...`` -> {host: (target, port or None)}."""
    result = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, target = item.partition("=")
        if not sep or not host.strip() or not target.strip():
            raise ValueError("bad TELEGRAM_EMULATOR_RESOLVE entry: %r" % item)
        target = target.strip()
        port = None
        if re.search(r":\d+$", target):
            target, port_text = target.rsplit(":", 1)
            port = int(port_text)
        result[host.strip().lower()] = (target, port)
    return result


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to ``connect_to`` while SNI, certificate check and Host stay the URL's host."""

    def __init__(self, host, port, connect_to, **kwargs):
        super().__init__(host, port, **kwargs)
        self._connect_to = connect_to

    def connect(self):
        sock = socket.create_connection(self._connect_to, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Bot:
    def __init__(self, bot_id, token, username, first_name):
        self.id = bot_id
        self.token = token
        self.username = username
        self.first_name = first_name
        self.revoked = False
        self.blocked_chats = set()
        # The chats the bot knows, as TDLib does: a private chat once its user wrote to the bot (an update), a
        # group, supergroup or channel the bot was added to (control API). str(id) -> chat fields + member, kicked.
        self.chats = {}
        self.webhook = None  # dict: url, ip_address, max_connections, secret_token, has_certificate
        self.allowed_updates = None  # None = default set
        self.pending = []
        self.next_update_id = 1
        self.last_error_date = None
        self.last_error_message = None
        self.forced_429 = None  # [remaining count, retry_after]
        self.next_set_webhook_time = 0.0
        self.sent = []
        self.next_message_id = 1
        self.poll_generation = 0
        self.poll_abort_message = MSG_POLL_CONFLICT

    def user(self):
        return {
            "id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
        }

    def public(self):
        return {
            "id": self.id, "username": self.username, "first_name": self.first_name, "revoked": self.revoked,
            "webhook_url": self.webhook["url"] if self.webhook else "",
            "secret_token_set": bool(self.webhook and self.webhook["secret_token"]),
            "pending_update_count": len(self.pending),
            "last_error_date": self.last_error_date, "last_error_message": self.last_error_message,
            "sent_count": len(self.sent),
        }


class TelegramEmulator(Emulator):
    name = "telegram"

    def __init__(self, seed=None, resolve=None, cafile=None, dns=None):
        # Read once at start-up: these come from the container's environment.
        self.resolve = parse_resolve(os.environ.get("TELEGRAM_EMULATOR_RESOLVE", "")) if resolve is None else resolve
        self.cafile = os.environ.get("TELEGRAM_EMULATOR_CAFILE") or None if cafile is None else cafile
        # Name lookup for webhook hosts outside the resolve map (tests pass a fake).
        self.dns = system_resolve if dns is None else dns
        self.cond = None
        super().__init__(seed)

    # ----- state -----

    def reset_state(self):
        if self.cond is None:
            self.cond = threading.Condition(self.lock)
        else:
            # Wake long-polls so they notice their bot is gone.
            self.cond.notify_all()
        self.bots = {}
        self.tokens = {}  # token -> bot id, active or revoked (revocation lives on the token)
        self.revoked_tokens = set()

    def apply_seed(self, seed):
        for spec in seed.get("bots", []):
            self._register(spec)

    def _register(self, spec):
        token = spec.get("token")
        if not isinstance(token, str) or not token_shape_ok(token):
            raise ControlError(400, "token missing or not of the Bot API shape <id>:<secret>")
        bot_id = int(token.split(":", 1)[0])
        if spec.get("id") is not None and int(spec["id"]) != bot_id:
            raise ControlError(400, "id %s does not match the token's bot id %d" % (spec["id"], bot_id))
        bot = self.bots.get(bot_id)
        if bot is None:
            bot = Bot(bot_id, token, spec.get("username") or "lab%d_bot" % bot_id,
                      spec.get("first_name") or "Lab bot")
            self.bots[bot_id] = bot
        elif bot.token != token:
            # A new token for a known bot is BotFather's /revoke: the old one answers 401 from now on.
            self.revoked_tokens.add(bot.token)
            bot.token = token
        self.revoked_tokens.discard(token)
        bot.revoked = False
        self.tokens[token] = bot_id
        if spec.get("username"):
            bot.username = spec["username"]
        if spec.get("first_name"):
            bot.first_name = spec["first_name"]
        if "blocked_chats" in spec:
            bot.blocked_chats = {str(c) for c in spec.get("blocked_chats") or []}
        for chat in spec.get("chats") or []:
            self._add_chat(bot, chat)
        return bot

    @staticmethod
    def _add_chat(bot, chat):
        """A chat the bot knows: ``id`` and ``type`` (private, group, supergroup, channel), optional ``title``,
        ``username``, ``first_name``, ``member`` (default true) and ``kicked`` (default false)."""
        if not isinstance(chat, dict) or chat.get("type") not in ("private", "group", "supergroup", "channel"):
            raise ControlError(400, "a chat needs a type: private, group, supergroup or channel")
        try:
            chat_id = int(chat["id"])
        except (KeyError, TypeError, ValueError):
            raise ControlError(400, "a chat needs an integer id")
        fields = {"id": chat_id, "type": chat["type"]}
        for key in ("title", "username", "first_name"):
            if chat.get(key):
                fields[key] = str(chat[key])
        bot.chats[str(chat_id)] = dict(fields, member=bool(chat.get("member", True)),
                                       kicked=bool(chat.get("kicked", False)))

    @staticmethod
    def _learn_chats(bot, update):
        """The chats an incoming update shows the bot (what makes TDLib know a user's private chat)."""
        for key in ("message", "edited_message", "channel_post", "edited_channel_post", "my_chat_member"):
            chat = (update.get(key) or {}).get("chat") if isinstance(update.get(key), dict) else None
            if isinstance(chat, dict) and isinstance(chat.get("id"), int) and str(chat["id"]) not in bot.chats:
                known = {"id": chat["id"], "type": chat.get("type") or ("private" if chat["id"] > 0 else "supergroup")}
                for field in ("title", "username", "first_name"):
                    if chat.get(field):
                        known[field] = chat[field]
                bot.chats[str(chat["id"])] = dict(known, member=True, kicked=False)

    # ----- logging -----

    def mask(self, req):
        path = re.sub(r"^/bot([^/]*)", lambda m: "/bot" + (
            m.group(1).split(":", 1)[0] + ":***" if ":" in m.group(1) else ("***" if m.group(1) else "")),
            req.path)
        # A token in any other segment (missing or doubled prefix) is a token all the same.
        path = re.sub(r"(\d+):[^/]+", r"\1:***", path)
        return path + mask_query(req.query_string, {"secret_token"})

    def internal_error(self):
        return json_response(500, {"ok": False, "error_code": 500, "description": "Internal Server Error: emulator failure"})

    # ----- the Bot API -----

    def handle(self, req):
        try:
            bot, method = self._authenticate(req)
            try:
                params, files = parse_form_params(req)
            except (ValueError, UnicodeDecodeError):
                if req.content_type == "application/json":
                    raise ApiError(400, "Bad Request: can't parse JSON object")
                raise ApiError(400, "Bad Request: can't parse request")
            result, description = method(bot, params, files)
        except ApiError as exc:
            body = {"ok": False, "error_code": exc.code, "description": exc.description}
            headers = {}
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
                headers["Retry-After"] = str(exc.retry_after)
            return json_response(exc.code, body, headers)
        body = {"ok": True, "result": result}
        if description:
            body["description"] = description
        return json_response(200, body)

    def _authenticate(self, req):
        if not req.path.startswith("/bot"):
            raise ApiError(404, "Not Found")
        token, sep, method_name = req.path[4:].partition("/")
        if not sep or not method_name or "/" in method_name:
            raise ApiError(404, "Not Found")
        if token.lower().startswith("bot"):
            # ``/botbot<token>/...``: the cloud answers a doubled prefix like an unknown token.
            raise ApiError(404, "Not Found")
        if not token_shape_ok(token):
            raise ApiError(401, "Unauthorized: invalid token specified")
        with self.lock:
            if token in self.revoked_tokens:
                raise ApiError(401, "Unauthorized")
            bot_id = self.tokens.get(token)
            bot = self.bots.get(bot_id)
            if bot is None:
                # A well-formed token Telegram does not know (mistyped, never issued) is rejected like a
                # revoked one: 401. 404 is only for paths that are not /bot<token>/<method>.
                raise ApiError(401, "Unauthorized")
            if bot.revoked:
                raise ApiError(401, "Unauthorized")
            method = self.METHODS.get(method_name.lower())
            if method is None:
                raise ApiError(404, "Not Found")
            if bot.forced_429 and bot.forced_429[0] > 0:
                bot.forced_429[0] -= 1
                retry_after = bot.forced_429[1]
                raise ApiError(429, "Too Many Requests: retry after %d" % retry_after, retry_after)
        return bot, method.__get__(self)

    def m_getme(self, bot, params, files):
        with self.lock:
            return bot.user(), None

    @staticmethod
    def _parse_webhook_url(url):
        """(scheme, host, port) as tdlib's parse_url would see it; ApiError when unparsable."""
        invalid = ApiError(400, "Bad Request: invalid webhook URL specified")
        if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7f for c in url):
            raise invalid
        if "://" in url:
            scheme, rest = url.split("://", 1)
            scheme = scheme.lower()
            if scheme not in ("http", "https"):
                raise invalid
        else:
            # do_set_webhook parses with td::parse_url(url, HttpUrl::Protocol::Https): no scheme is HTTPS
            scheme, rest = "https", url
        try:
            split = urllib.parse.urlsplit(scheme + "://" + rest)
            port = split.port
        except ValueError:
            raise invalid
        if not split.hostname or port == 0:
            raise invalid
        return scheme, split.hostname, port or (443 if scheme == "https" else 80)

    def m_setwebhook(self, bot, params, files):
        return self._set_webhook(bot, params, files, params.get("url", ""))

    def m_deletewebhook(self, bot, params, files):
        return self._set_webhook(bot, params, files, "")

    def _set_webhook(self, bot, params, files, url):
        """setWebhook and deleteWebhook, in the order of telegram-bot-api's ``process_set_webhook_query``:

        1. a call with a URL within 1 s of the previous call with a URL is 429 (no-op calls count and
           restart the second; deleteWebhook and an empty url are never limited);
        2. nothing changed (url, certificate, max_connections, pinned ip_address, secret) and no
           drop_pending_updates: ``Webhook is already set``/``deleted``, allowed_updates still applied;
        3. otherwise the current webhook is closed FIRST (``on_webhook_closed``: url, settings and
           last_error_* cleared), then ``do_set_webhook`` drops the queue if asked and validates the
           new URL and secret, and the webhook actor checks port, scheme and address. Any refusal
           from here on leaves the bot with no webhook at all.
        """
        drop = parse_bool(params.get("drop_pending_updates", ""))
        new_cert = bool(url) and "certificate" in files
        new_max = self._max_connections(params) if url else 0
        new_ip = params.get("ip_address", "") if url else ""
        new_secret = params.get("secret_token", "") if url else ""
        with self.cond:
            if url:
                now = time.monotonic()
                if now < bot.next_set_webhook_time:
                    raise ApiError(429, "Too Many Requests: retry after 1", 1)
                bot.next_set_webhook_time = now + 1.0
            hook = bot.webhook or {"url": "", "has_certificate": False, "max_connections": 0, "ip_address": "",
                                   "fixed_ip": False, "secret_token": ""}
            if (hook["url"] == url and not hook["has_certificate"] and not new_cert
                    and hook["max_connections"] == new_max and hook["fixed_ip"] == bool(new_ip)
                    and hook["secret_token"] == new_secret and (not new_ip or hook["ip_address"] == new_ip)
                    and not drop):
                self._apply_allowed_updates(bot, params)
                return True, "Webhook is already set" if url else "Webhook is already deleted"
            if url:
                # abort_long_poll: a waiting getUpdates ends with 409, whatever becomes of this call.
                bot.poll_generation += 1
                bot.poll_abort_message = MSG_POLL_SETWEBHOOK
            was_set = bot.webhook is not None
            bot.webhook = None
            if was_set:
                bot.last_error_date = bot.last_error_message = None
            if drop:
                bot.pending = []
            self.cond.notify_all()
            if not url:
                return True, "Webhook was deleted" if was_set else "Webhook is already deleted"
            scheme, host, port = self._parse_webhook_url(url)
            if len(new_secret) > 256:
                raise ApiError(400, "Bad Request: secret token is too long")
            if not SECRET_RE.match(new_secret):
                raise ApiError(400, "Bad Request: secret token contains unallowed characters")
            certificate = files["certificate"][1] if new_cert else None
            if certificate is not None and len(certificate) > MAX_CERTIFICATE_FILE_SIZE:
                raise ApiError(400, "Bad Request: certificate size is too big (%d bytes)" % len(certificate))
            # finish_set_webhook: settings stored (allowed_updates included), then the webhook actor
            # verifies them; a failed verification closes the webhook again.
            self._apply_allowed_updates(bot, params)
            bot.last_error_date = bot.last_error_message = None
        error = None
        if scheme != "https":
            error = "An HTTPS URL must be provided for webhook"
        elif port not in WEBHOOK_PORTS:
            error = "Webhook can be set up only on ports 80, 88, 443 or 8443"
        if error is None:
            # Name resolution may block: done outside the lock.
            resolved, error = self._webhook_address(host, new_ip)
        if error is None and certificate is not None and not certificate_loads(certificate):
            # WebhookActor's SslCtx::create(cert_path): SSL_CTX_load_verify_locations refuses the file, and the
            # webhook, already closed above, stays deleted.
            error = "Failed to set custom certificate file"
        if error is not None:
            raise ApiError(400, "Bad Request: bad webhook: %s" % error)
        with self.cond:
            bot.webhook = {"url": url, "has_certificate": new_cert, "max_connections": new_max,
                           "ip_address": resolved, "fixed_ip": bool(new_ip), "secret_token": new_secret}
            self.cond.notify_all()
        return True, "Webhook was set"

    @staticmethod
    def _max_connections(params):
        """get_integer_arg(max_connections, 40, 1, 100): empty is 40, garbage parses as 0, clamped."""
        text = params.get("max_connections", "")
        value = 40 if text == "" else td_to_integer(text)
        return min(max(value, 1), 100)

    def _webhook_address(self, host, fixed_ip):
        """(address getWebhookInfo reports, None) or (None, error) as WebhookActor verifies it.

        A pinned ip_address is checked as given. Otherwise the host is resolved: an IP literal is
        itself; a host in the lab's resolve map stands for a public name, so it resolves to its
        target's address without the reserved-range check (``<unknown>`` when the target name does not
        resolve now, as the real server reports when it has no address); anything else goes to DNS.
        """
        if fixed_ip:
            error = check_webhook_ip(fixed_ip)
            return (None, error) if error else (str(ipaddress.ip_address(fixed_ip)), None)
        try:
            return str(ipaddress.ip_address(host)), check_webhook_ip(host)
        except ValueError:
            pass
        if host.lower() in self.resolve:
            target = self.resolve[host.lower()][0]
            try:
                return str(ipaddress.ip_address(target)), None
            except ValueError:
                pass
            try:
                return (self.dns(target) or [UNKNOWN_IP])[0], None
            except OSError:
                return UNKNOWN_IP, None
        try:
            addrs = self.dns(host)
        except OSError:
            addrs = []
        if not addrs:
            return None, "Failed to resolve host: Name or service not known"
        error = check_webhook_ip(addrs[0])
        return (None, error) if error else (addrs[0], None)

    def _apply_allowed_updates(self, bot, params):
        chosen = self._parse_allowed_updates(params.get("allowed_updates", ""))
        if chosen is not KEEP:
            bot.allowed_updates = chosen

    @staticmethod
    def _parse_allowed_updates(text):
        """Client::get_allowed_update_types: KEEP (the previous setting stays) when absent, not JSON,
        not an array or holding a non-string; names are lowercased, unknown ones ignored; nothing
        known (``[]`` included) is the default set (None)."""
        if not text:
            return KEEP
        try:
            value = json.loads(text)
        except ValueError:
            return KEEP
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return KEEP
        wanted = {v.lower() for v in value}
        chosen = tuple(t for t in UPDATE_TYPES if t in wanted)
        if not chosen or chosen == DEFAULT_UPDATE_TYPES:
            return None
        return chosen

    def m_getwebhookinfo(self, bot, params, files):
        with self.lock:
            hook = bot.webhook
            info = {
                "url": hook["url"] if hook else "",
                "has_custom_certificate": bool(hook and hook["has_certificate"]),
                "pending_update_count": len(bot.pending),
            }
            if bot.last_error_date:
                info["last_error_date"] = bot.last_error_date
                info["last_error_message"] = bot.last_error_message
            if hook:
                info["max_connections"] = hook["max_connections"]
                # JsonWebhookInfo: always present with a URL, the verified address or "<unknown>".
                info["ip_address"] = hook["ip_address"] or UNKNOWN_IP
            if bot.allowed_updates is not None:
                info["allowed_updates"] = [t for t in bot.allowed_updates if t not in UNLISTED_UPDATE_TYPES]
            return info, None

    def m_getupdates(self, bot, params, files):
        offset = td_to_integer(params.get("offset", "0"))
        limit = params.get("limit", "")
        limit = 100 if limit == "" else min(max(td_to_integer(limit), 1), 100)
        timeout = min(max(td_to_integer(params.get("timeout", "0")), 0), MAX_POLL_TIMEOUT)
        deadline = time.monotonic() + timeout
        with self.cond:
            if bot.webhook is not None:
                raise ApiError(409, MSG_WEBHOOK_CONFLICT)
            self._apply_allowed_updates(bot, params)
            # A newer getUpdates ends an older one still waiting, as on the real server.
            bot.poll_generation += 1
            bot.poll_abort_message = MSG_POLL_CONFLICT
            generation = bot.poll_generation
            self.cond.notify_all()
            if offset > 0:
                bot.pending = [u for u in bot.pending if u["update_id"] >= offset]
            elif offset < 0:
                bot.pending = bot.pending[offset:]
            while True:
                if self.bots.get(bot.id) is not bot:
                    return [], None  # the emulator was reset under this long-poll
                if bot.poll_generation != generation:
                    raise ApiError(409, bot.poll_abort_message)
                remaining = deadline - time.monotonic()
                if bot.pending or remaining <= 0:
                    return [dict(u) for u in bot.pending[:limit]], None
                self.cond.wait(remaining)

    def m_sendmessage(self, bot, params, files):
        chat_id = params.get("chat_id", "").strip()
        text = params.get("text", "")
        if not chat_id:
            raise ApiError(400, "Bad Request: chat_id is empty")
        # process_send_message_query reads the text before do_send_message looks the chat up.
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        with self.lock:
            known = None
            if re.match(r"^-?\d+$", chat_id):
                known = bot.chats.get(str(int(chat_id)))
            elif re.match(r"^@[A-Za-z0-9_]{4,}$", chat_id):
                known = next((c for c in bot.chats.values() if c.get("username", "").lower() == chat_id[1:].lower()
                              and c["type"] in ("supergroup", "channel")), None)
            if known is None:
                # A user who never wrote to the bot, a group it was never added to, a mistyped id.
                raise ApiError(400, "Bad Request: chat not found")
            chat = dict((k, v) for k, v in known.items() if k not in ("member", "kicked"))
        with self.lock:
            # Client::check_chat_access (write access)
            if chat["type"] != "private" and known["kicked"]:
                raise ApiError(403, "Forbidden: bot was kicked from the %s chat" % chat["type"])
            if chat["type"] != "private" and not known["member"]:
                raise ApiError(403, "Forbidden: bot is not a member of the %s chat" % chat["type"])
            if chat_id in bot.blocked_chats or str(chat["id"]) in bot.blocked_chats:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            message = {"message_id": bot.next_message_id, "from": bot.user(), "chat": chat,
                       "date": int(time.time()), "text": text}
            bot.next_message_id += 1
            bot.sent.append({"chat_id": chat_id, "text": text, "parse_mode": params.get("parse_mode"),
                             "message_id": message["message_id"], "date": message["date"]})
            return message, None

    def m_logout(self, bot, params, files):
        return True, None

    def m_close(self, bot, params, files):
        return True, None

    METHODS = {
        "getme": m_getme, "setwebhook": m_setwebhook, "deletewebhook": m_deletewebhook,
        "getwebhookinfo": m_getwebhookinfo, "getupdates": m_getupdates, "sendmessage": m_sendmessage,
        "logout": m_logout, "close": m_close,
    }

    # ----- webhook delivery -----

    def _post_to_webhook(self, hook, update):
        """POST one update; (delivered, status, error) with Telegram-style error text."""
        split = urllib.parse.urlsplit(hook["url"])
        host = split.hostname
        port = split.port or 443
        # The lab's resolve map wins (it keeps traffic inside the lab); then a pinned ip_address, as
        # Telegram uses it instead of DNS; then the URL's host itself.
        if host.lower() in self.resolve:
            target_host, target_port = self.resolve[host.lower()]
            connect_to = (target_host, target_port or port)
        elif hook["ip_address"] and hook["ip_address"] != UNKNOWN_IP:
            connect_to = (hook["ip_address"], port)  # the verified address, as Telegram caches it
        else:
            connect_to = (host, port)
        context = ssl.create_default_context(cafile=self.cafile) if self.cafile else ssl.create_default_context()
        path = (split.path or "/") + ("?" + split.query if split.query else "")
        body = json.dumps(update).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if hook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        conn = _PinnedHTTPSConnection(host, port, connect_to, timeout=DELIVERY_TIMEOUT, context=context)
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except ConnectionRefusedError:
            return False, None, "Connection refused"
        except ssl.SSLCertVerificationError as exc:
            return False, None, "SSL error {%s}" % (exc.verify_message or exc.reason or exc)
        except ssl.SSLError as exc:
            return False, None, "SSL error {%s}" % (exc.reason or exc)
        except socket.gaierror:
            return False, None, "Failed to resolve host: Name or service not known"
        except (socket.timeout, TimeoutError):
            return False, None, "Read timeout expired"
        except (OSError, http.client.HTTPException) as exc:
            return False, None, "Connection error: %s" % (exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
        finally:
            conn.close()
        if 200 <= status < 300:
            return True, status, None
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = resp.reason or "Unknown"
        return False, status, "Wrong response from the webhook: %d %s" % (status, phrase)

    def _enqueue(self, bot, update):
        """Give ``update`` an update_id (unless it has one) and return it; caller holds the lock."""
        update = dict(update)
        self._learn_chats(bot, update)
        if not isinstance(update.get("update_id"), int):
            update["update_id"] = bot.next_update_id
        bot.next_update_id = max(bot.next_update_id, update["update_id"] + 1)
        return update

    def _deliver_one(self, bot, hook, update):
        delivered, status, error = self._post_to_webhook(hook, update)
        with self.cond:
            if delivered:
                bot.pending = [u for u in bot.pending if u["update_id"] != update["update_id"]]
            else:
                if not any(u["update_id"] == update["update_id"] for u in bot.pending):
                    bot.pending.append(update)
                bot.last_error_date = int(time.time())
                bot.last_error_message = error
            self.cond.notify_all()
        return delivered, status, error

    def _control_deliver(self, bot, data):
        if isinstance(data.get("update"), dict):
            update = data["update"]
        elif data:
            update = data
        else:
            update = None  # retry what is pending, oldest first
        with self.lock:
            hook = dict(bot.webhook) if bot.webhook else None
            if hook is None:
                raise ControlError(409, "bot %d has no webhook set" % bot.id)
            if update is not None:
                batch = [self._enqueue(bot, update)]
            else:
                batch = [dict(u) for u in bot.pending]
        result = {"ok": True, "delivered": True, "status": None, "error": None, "update_ids": []}
        for item in batch:
            delivered, status, error = self._deliver_one(bot, hook, item)
            result.update(delivered=delivered, status=status, error=error)
            if not delivered:
                break
            result["update_ids"].append(item["update_id"])
        with self.lock:
            result["pending_update_count"] = len(bot.pending)
        return result

    # ----- control API -----

    def control(self, req, parts):
        if parts == ["bots"]:
            if req.method == "GET":
                with self.lock:
                    return json_response(200, {"ok": True, "bots": [b.public() for b in self.bots.values()]})
            if req.method == "POST":
                data = control_json(req)
                with self.lock:
                    bot = self._register(data)
                    return json_response(200, {"ok": True, "bot": bot.public()})
            return None
        if len(parts) < 2 or parts[0] != "bots":
            return None
        try:
            bot_id = int(parts[1])
        except ValueError:
            raise ControlError(400, "bot id must be an integer")
        with self.lock:
            bot = self.bots.get(bot_id)
        if bot is None:
            raise ControlError(404, "no bot with id %d" % bot_id)
        action = parts[2] if len(parts) == 3 else None
        if len(parts) == 2 and req.method == "GET":
            with self.lock:
                return json_response(200, {"ok": True, "bot": bot.public()})
        if action == "revoke" and req.method == "POST":
            with self.cond:
                bot.revoked = True
                self.revoked_tokens.add(bot.token)
                self.cond.notify_all()
                return json_response(200, {"ok": True, "bot": bot.public()})
        if action == "ratelimit" and req.method == "POST":
            data = control_json(req)
            try:
                count, retry_after = int(data.get("count", 1)), int(data.get("retry_after", 5))
            except (TypeError, ValueError):
                raise ControlError(400, "count and retry_after must be integers")
            if count < 0 or retry_after < 1:
                raise ControlError(400, "count must be >= 0 and retry_after >= 1")
            with self.lock:
                bot.forced_429 = [count, retry_after] if count else None
                return json_response(200, {"ok": True, "count": count, "retry_after": retry_after})
        if action == "updates" and req.method == "POST":
            data = control_json(req)
            update = data["update"] if isinstance(data.get("update"), dict) else data
            with self.cond:
                update = self._enqueue(bot, update)
                bot.pending.append(update)
                self.cond.notify_all()
                return json_response(200, {"ok": True, "update_id": update["update_id"],
                                           "pending_update_count": len(bot.pending)})
        if action == "deliver" and req.method == "POST":
            return json_response(200, self._control_deliver(bot, control_json(req)))
        if action == "chats" and req.method == "POST":
            data = control_json(req)
            with self.lock:
                for chat in data.get("chats") if isinstance(data.get("chats"), list) else [data]:
                    self._add_chat(bot, chat)
                return json_response(200, {"ok": True, "chats": sorted(bot.chats.values(), key=lambda c: c["id"])})
        if action == "sent" and req.method == "GET":
            with self.lock:
                return json_response(200, {"ok": True, "messages": list(bot.sent)})
        if action == "sent" and req.method == "DELETE":
            with self.lock:
                bot.sent = []
                return json_response(200, {"ok": True})
        return None
