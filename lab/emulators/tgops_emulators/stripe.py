"""Stripe emulator: ``GET /v1/balance`` and ``GET /v1/account`` with Stripe's authentication errors,
key rolling with a grace period, restricted-key permissions and rate limits."""
import base64
import hashlib
import re
import secrets
import string
import time

from .common import ControlError, Emulator, SlidingWindow, control_json, json_response

NO_KEY_MESSAGE = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, "
    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
    "for details, or we can help at https://support.stripe.com/."
)
KEY_PREFIX_RE = re.compile(r"^((?:sk|rk|pk)_(?:test|live)_)")
EXPIRED_DOC_URL = "https://stripe.com/docs/error-codes/api-key-expired"
RATE_LIMIT_MESSAGE = ("Request rate limit exceeded. You can learn more about rate limits here "
                      "https://stripe.com/docs/rate-limits.")
# docs.stripe.com/rate-limits: read requests per second per account, by mode.
RATE_LIMITS = {"live": 100, "test": 25}
# Resources a restricted key may be granted read access to (Stripe's rak_<resource>_read permissions).
RESOURCES = {"/v1/balance": "balance", "/v1/account": "account"}
KEY_ALPHABET = string.ascii_letters + string.digits


def mask_key(key):
    """Stripe's way of echoing a bad key: the prefix and the last four characters, stars between."""
    match = KEY_PREFIX_RE.match(key)
    prefix = match.group(1) if match else ""
    rest = key[len(prefix):]
    if len(rest) <= 4:
        return prefix + "*" * len(rest)
    return prefix + "*" * (len(rest) - 4) + rest[-4:]


def _amounts(value, currency):
    """Seed amounts: an integer (cents of ``currency``) or a list of Stripe balance entries."""
    if isinstance(value, list):
        out = []
        for item in value:
            amount = int(item["amount"])
            out.append({"amount": amount, "currency": item.get("currency", currency),
                        "source_types": item.get("source_types", {"card": amount})})
        return out
    amount = int(value or 0)
    return [{"amount": amount, "currency": currency, "source_types": {"card": amount}}]


def account_for(key):
    """A key registered without an account gets one of its own, stable across restarts."""
    return "acct_1" + hashlib.sha256(key.encode()).hexdigest()[:15].upper()


class StripeEmulator(Emulator):
    name = "stripe"

    def reset_state(self):
        self.keys = {}  # key -> {"revoked", "available", "pending", "account", "permissions", "expires_at"}
        self.windows = {mode: SlidingWindow(limit, 1.0) for mode, limit in RATE_LIMITS.items()}
        self.forced_429 = 0

    def apply_seed(self, seed):
        for spec in seed.get("keys", []):
            self._add_key(spec)

    def mask(self, req):
        return req.path

    def internal_error(self):
        return json_response(500, {"error": {"message": "An unknown error occurred (emulator).", "type": "api_error"}})

    def _add_key(self, spec):
        key = spec.get("key")
        if not isinstance(key, str) or not KEY_PREFIX_RE.match(key) or not key.startswith(("sk_", "rk_")):
            raise ControlError(400, "key must be a secret or restricted key (sk_test_..., sk_live_..., rk_...)")
        account = spec.get("account") or account_for(key)
        if not isinstance(account, str) or not account.startswith("acct_"):
            raise ControlError(400, "account must be an acct_... id")
        permissions = spec.get("permissions")
        if permissions is not None and (not isinstance(permissions, list) or
                                        not set(permissions) <= set(RESOURCES.values())):
            raise ControlError(400, "permissions must be a list drawn from %s" % ", ".join(sorted(RESOURCES.values())))
        currency = spec.get("currency", "usd")
        try:
            self.keys[key] = {"revoked": False, "available": _amounts(spec.get("available", 0), currency),
                              "pending": _amounts(spec.get("pending", 0), currency), "account": account,
                              # None: every resource (secret keys, and restricted keys registered without a list).
                              "permissions": None if key.startswith("sk_") or permissions is None else list(permissions),
                              "expires_at": None}
        except (KeyError, TypeError, ValueError):
            raise ControlError(400, "available/pending must be integers or lists of {amount, currency}")

    def _roll(self, data):
        """The dashboard's "Roll key": a new key for the same account; the old one works until its expiry."""
        old = data.get("key")
        grace = data.get("grace_seconds", 0)
        if isinstance(grace, bool) or not isinstance(grace, (int, float)) or grace < 0:
            raise ControlError(400, "grace_seconds must be a number >= 0")
        with self.lock:
            entry = self.keys.get(old)
            if entry is None or entry["revoked"]:
                raise ControlError(404, "no such key")
            if entry["expires_at"] is not None:
                raise ControlError(409, "that key was already rolled")
            prefix = KEY_PREFIX_RE.match(old).group(1)
            new = data.get("new_key") or prefix + "51" + "".join(secrets.choice(KEY_ALPHABET) for _char in range(97))
            if not isinstance(new, str) or not new.startswith(prefix) or new in self.keys:
                raise ControlError(400, "new_key must be a new key with the prefix %s" % prefix)
            self.keys[new] = dict(entry, available=[dict(a) for a in entry["available"]],
                                  pending=[dict(p) for p in entry["pending"]], expires_at=None)
            entry["expires_at"] = time.time() + grace
            return {"ok": True, "key": mask_key(new), "new_key": new, "account": entry["account"],
                    "expires_at": int(entry["expires_at"])}

    def control(self, req, parts):
        if parts == ["keys"] and req.method == "POST":
            data = control_json(req)
            with self.lock:
                self._add_key(data)
            return json_response(200, {"ok": True, "key": mask_key(data["key"])})
        if parts == ["keys"] and req.method == "GET":
            now = time.time()
            with self.lock:
                keys = [{"key": mask_key(k), "revoked": v["revoked"], "livemode": "_live_" in k,
                         "account": v["account"], "expires_at": None if v["expires_at"] is None else int(v["expires_at"]),
                         "expired": v["expires_at"] is not None and now >= v["expires_at"]}
                        for k, v in self.keys.items()]
            return json_response(200, {"ok": True, "keys": keys})
        if parts == ["keys", "revoke"] and req.method == "POST":
            return self.revoke_key(req, self.keys)
        if parts == ["keys", "roll"] and req.method == "POST":
            return json_response(200, self._roll(control_json(req)))
        if parts == ["ratelimit"] and req.method == "POST":
            count = control_json(req).get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ControlError(400, "count must be a non-negative integer")
            with self.lock:
                self.forced_429 = count
            return json_response(200, {"ok": True, "count": count})
        return None

    @staticmethod
    def _error(status, message, code=None, doc_url=None):
        error = {"message": message, "type": "invalid_request_error"}
        if code:
            error["code"] = code
        if doc_url:
            error["doc_url"] = doc_url
        return json_response(status, {"error": error}, {"Request-Id": "req_" + secrets.token_hex(7)})

    def _key_from(self, req):
        auth = (req.headers.get("Authorization") or "").strip()
        scheme, _sep, value = auth.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return value or None
        if scheme.lower() == "basic":
            try:
                user = base64.b64decode(value, validate=True).decode("utf-8").split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return None
            return user or None
        return None

    def handle(self, req):
        key = self._key_from(req)
        if key is None:
            return self._error(401, NO_KEY_MESSAGE)
        with self.lock:
            entry = self.keys.get(key)
            if entry is None or entry["revoked"]:
                return self._error(401, "Invalid API Key provided: %s" % mask_key(key))
            if entry["expires_at"] is not None and time.time() >= entry["expires_at"]:
                # A rolled key after its grace period (docs.stripe.com/keys, error code api_key_expired).
                return self._error(401, "Expired API Key provided: %s" % mask_key(key), "api_key_expired",
                                   EXPIRED_DOC_URL)
            livemode = "_live_" in key
            if self.forced_429 > 0:
                self.forced_429 -= 1
                return self._error(429, RATE_LIMIT_MESSAGE, "rate_limit")
            window = self.windows["live" if livemode else "test"]
            if not window.hit(entry["account"])[0]:
                return self._error(429, RATE_LIMIT_MESSAGE, "rate_limit")
            path = req.path.rstrip("/")
            resource = RESOURCES.get(path)
            if resource is None or req.method not in ("GET", "HEAD"):
                return self._error(404, "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs "
                                        "or we can help at https://support.stripe.com/." % (req.method, req.path))
            if entry["permissions"] is not None and resource not in entry["permissions"]:
                return json_response(403, {"error": {"message": (
                    "The provided key '%s' does not have the required permissions for this endpoint on account "
                    "'%s'. Having the 'rak_%s_read' permission would allow this request to continue."
                    % (mask_key(key), entry["account"], resource)), "type": "invalid_request_error"}},
                    {"Request-Id": "req_" + secrets.token_hex(7)})
            if resource == "balance":
                body = {"object": "balance", "available": [dict(a) for a in entry["available"]],
                        "livemode": livemode, "pending": [dict(p) for p in entry["pending"]]}
            else:
                body = {"id": entry["account"], "object": "account", "business_profile": {"name": "Lab account"},
                        "charges_enabled": True, "country": "US", "created": 1700000000,
                        "default_currency": entry["available"][0]["currency"], "details_submitted": True,
                        "email": "lab@tgops.invalid", "payouts_enabled": True, "type": "standard"}
        return json_response(200, body, {"Request-Id": "req_" + secrets.token_hex(7), "Stripe-Version": "2024-06-20"})
