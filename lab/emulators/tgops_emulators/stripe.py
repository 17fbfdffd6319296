"""Stripe emulator: ``GET /v1/balance`` with Stripe's authentication errors."""
import base64
import re
import secrets

from .common import ControlError, Emulator, control_json, json_response

NO_KEY_MESSAGE = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, "
    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
    "for details, or we can help at https://support.stripe.com/."
)
KEY_PREFIX_RE = re.compile(r"^((?:sk|rk|pk)_(?:test|live)_)")


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


class StripeEmulator(Emulator):
    name = "stripe"

    def reset_state(self):
        self.keys = {}  # key -> {"revoked", "available", "pending"}

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
        currency = spec.get("currency", "usd")
        try:
            self.keys[key] = {"revoked": False, "available": _amounts(spec.get("available", 0), currency),
                              "pending": _amounts(spec.get("pending", 0), currency)}
        except (KeyError, TypeError, ValueError):
            raise ControlError(400, "available/pending must be integers or lists of {amount, currency}")

    def control(self, req, parts):
        if parts == ["keys"] and req.method == "POST":
            data = control_json(req)
            with self.lock:
                self._add_key(data)
            return json_response(200, {"ok": True, "key": mask_key(data["key"])})
        if parts == ["keys"] and req.method == "GET":
            with self.lock:
                keys = [{"key": mask_key(k), "revoked": v["revoked"], "livemode": "_live_" in k}
                        for k, v in self.keys.items()]
            return json_response(200, {"ok": True, "keys": keys})
        if parts == ["keys", "revoke"] and req.method == "POST":
            return self.revoke_key(req, self.keys)
        return None

    @staticmethod
    def _error(status, message):
        return json_response(status, {"error": {"message": message, "type": "invalid_request_error"}},
                             {"Request-Id": "req_" + secrets.token_hex(7)})

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
            if req.path.rstrip("/") != "/v1/balance" or req.method not in ("GET", "HEAD"):
                return self._error(404, "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs "
                                        "or we can help at https://support.stripe.com/." % (req.method, req.path))
            body = {"object": "balance", "available": [dict(a) for a in entry["available"]],
                    "livemode": key.startswith(("sk_live_", "rk_live_")),
                    "pending": [dict(p) for p in entry["pending"]]}
        return json_response(200, body, {"Request-Id": "req_" + secrets.token_hex(7), "Stripe-Version": "2024-06-20"})
