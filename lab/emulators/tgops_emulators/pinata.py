"""Pinata API emulator: testAuthentication, userPinnedDataTotal and pinJSONToIPFS, with Pinata's
per-account rate limits (180 requests/min overall, 30/min on /data/*), JWTs that carry their API key
and scoped keys."""
import base64
import binascii
import datetime
import hashlib
import hmac
import json
import math
import secrets
import time
import uuid

from .common import ControlError, Emulator, SlidingWindow, control_json, json_response

OVERALL_LIMIT = 180
DATA_LIMIT = 30
WINDOW = 60.0
REPLICATIONS = 2  # pin_size_with_replications_total counts each pin in two regions
B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

AUTH_OK = {"message": "Congratulations! You are communicating with the Pinata API!"}
KEYS_MUST_BE_STRINGS = {"error": {"reason": "KEYS_MUST_BE_STRINGS",
                                  "details": "pinata_api_key and pinata_secret_api_key must both be strings"}}
INVALID_CREDENTIALS = {"error": {"reason": "INVALID_CREDENTIALS", "details": "Invalid/expired credentials"}}
# The status is what clients act on (the official SDK raises AuthenticationError for 401 and 403);
# the body of a scope refusal is this emulator's choice.
NO_SCOPES = {"error": {"reason": "NO_SCOPES_FOUND", "details": "This key does not have the required scopes associated with it"}}
# Which scope each route needs: Pinata key permissions are {"admin": bool, "endpoints": {group: {name: bool}}}.
# testAuthentication answers any valid key.
ROUTE_SCOPES = {
    "test_authentication": None,
    "user_pinned_data_total": ("data", "userPinnedDataTotal"),
    "pin_json": ("pinning", "pinJSONToIPFS"),
}
ADMIN = {"admin": True}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def base58(data):
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = B58_ALPHABET[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def cid_v0(content_bytes):
    """A CIDv0 (base58 sha2-256 multihash, "Qm..."): deterministic in the content."""
    return base58(b"\x12\x20" + hashlib.sha256(content_bytes).digest())


def iso_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PinataError(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class PinataEmulator(Emulator):
    name = "pinata"

    def __init__(self, seed=None):
        # Signs the JWTs this emulator mints; kept across resets, like Pinata's own signing key.
        self.jwt_secret = secrets.token_bytes(32)
        super().__init__(seed)

    def reset_state(self):
        self.accounts = {}  # name -> account dict
        self.keys = {}  # api key -> {"account", "secret", "scopes", "iat"}
        self.revoked = set()  # ("api_key", value) or ("jwt", value)
        self.overall = SlidingWindow(OVERALL_LIMIT, WINDOW)
        self.data = SlidingWindow(DATA_LIMIT, WINDOW)
        self.forced_429 = 0

    def apply_seed(self, seed):
        for spec in seed.get("accounts", []):
            self._add_account(spec)

    def internal_error(self):
        return json_response(500, {"error": {"reason": "INTERNAL_SERVER_ERROR", "details": "emulator failure"}})

    def _add_account(self, spec):
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise ControlError(400, "name must be a non-empty string")
        if not spec.get("jwt") and not (spec.get("api_key") and spec.get("secret_api_key")):
            raise ControlError(400, "an account needs jwt or api_key + secret_api_key")
        account = self.accounts.get(name) or {
            "name": name, "pins": {}, "base_count": 0, "base_size": 0, "uuid": str(uuid.uuid4())}
        if account.get("api_key") and account["api_key"] != spec.get("api_key"):
            self.keys.pop(account["api_key"], None)  # the account's key was replaced: the old one is gone
        account.update(api_key=spec.get("api_key"), secret_api_key=spec.get("secret_api_key"), jwt=spec.get("jwt"))
        account["base_count"] = int(spec.get("pin_count", account["base_count"]))
        account["base_size"] = int(spec.get("pin_size_total", account["base_size"]))
        for cred in (("api_key", account["api_key"]), ("jwt", account["jwt"])):
            self.revoked.discard(cred)
        self.accounts[name] = account
        if account["api_key"]:
            self._add_key(account, account["api_key"], account["secret_api_key"], ADMIN)
        return account

    def _add_key(self, account, api_key, secret, scopes):
        if api_key in self.keys and self.keys[api_key]["account"] != account["name"]:
            raise ControlError(409, "that api_key belongs to another account")
        entry = self.keys.get(api_key)
        if entry is None or entry["secret"] != secret or entry["scopes"] != scopes:
            entry = {"account": account["name"], "secret": secret, "scopes": scopes, "iat": int(time.time())}
            self.keys[api_key] = entry
        self.revoked.discard(("api_key", api_key))
        return entry

    def mint_jwt(self, api_key):
        """A JWT shaped like Pinata's: HS256, payload with userInformation, authenticationType "scopedKey"
        and the key itself (scopedKeyKey, scopedKeySecret). It lives and dies with that key."""
        entry = self.keys[api_key]
        account = self.accounts[entry["account"]]
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {
            "userInformation": {"id": account["uuid"], "email": "%s@lab.invalid" % account["name"],
                                "email_verified": True, "pin_policy": {"regions": [
                                    {"desiredReplicationCount": 1, "id": "FRA1"},
                                    {"desiredReplicationCount": 1, "id": "NYC1"}], "version": 1},
                                "mfa_enabled": False, "status": "ACTIVE"},
            "authenticationType": "scopedKey",
            "scopedKeyKey": api_key,
            "scopedKeySecret": entry["secret"],
            "exp": entry["iat"] + 365 * 86400,
            "iat": entry["iat"],
        }
        signing_input = "%s.%s" % (b64url(json.dumps(header, separators=(",", ":")).encode()),
                                   b64url(json.dumps(payload, separators=(",", ":")).encode()))
        signature = hmac.new(self.jwt_secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        return signing_input + "." + b64url(signature)

    def _jwt_key(self, token):
        """The api key a minted JWT carries when its structure, signature and expiry hold; else None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(b64url_decode(parts[0]))
            payload = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except (ValueError, binascii.Error):
            return None
        if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(payload, dict):
            return None
        expected = hmac.new(self.jwt_secret, ("%s.%s" % (parts[0], parts[1])).encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected):
            return None
        if not isinstance(payload.get("exp"), int) or payload["exp"] < time.time():
            return None
        entry = self.keys.get(payload.get("scopedKeyKey"))
        if entry is None or entry["secret"] != payload.get("scopedKeySecret"):
            return None
        return payload["scopedKeyKey"]

    def _summary(self, account):
        return {"name": account["name"], "has_api_key": bool(account["api_key"]), "has_jwt": bool(account["jwt"]),
                "revoked_api_key": ("api_key", account["api_key"]) in self.revoked,
                "revoked_jwt": ("jwt", account["jwt"]) in self.revoked, **self._totals(account)}

    @staticmethod
    def _totals(account):
        count = account["base_count"] + len(account["pins"])
        size = account["base_size"] + sum(p["PinSize"] for p in account["pins"].values())
        return {"pin_count": count, "pin_size_total": size, "pin_size_with_replications_total": size * REPLICATIONS}

    # ----- control API -----

    def control(self, req, parts):
        if parts == ["accounts"] and req.method == "POST":
            data = control_json(req)
            with self.lock:
                account = self._add_account(data)
                answer = {"ok": True, "account": self._summary(account)}
                if account["api_key"]:
                    answer["key_jwt"] = self.mint_jwt(account["api_key"])
                return json_response(200, answer)
        if parts == ["keys"] and req.method == "POST":
            data = control_json(req)
            scopes = data.get("scopes", ADMIN)
            if not isinstance(scopes, dict):
                raise ControlError(400, 'scopes must be {"admin": true} or {"endpoints": {group: {name: true}}}')
            with self.lock:
                account = self.accounts.get(data.get("account"))
                if account is None:
                    raise ControlError(404, "no such account")
                api_key = data.get("api_key") or secrets.token_hex(10)
                secret = data.get("secret_api_key") or secrets.token_hex(32)
                self._add_key(account, api_key, secret, scopes)
                return json_response(200, {"ok": True, "api_key": api_key, "secret_api_key": secret,
                                           "jwt": self.mint_jwt(api_key)})
        if parts == ["accounts"] and req.method == "GET":
            with self.lock:
                return json_response(200, {"ok": True, "accounts": [self._summary(a) for a in self.accounts.values()]})
        if parts == ["revoke"] and req.method == "POST":
            data = control_json(req)
            with self.lock:
                if data.get("api_key"):
                    if data["api_key"] not in self.keys:
                        raise ControlError(404, "no account has that api_key")
                    self.revoked.add(("api_key", data["api_key"]))
                    return json_response(200, {"ok": True})
                if data.get("jwt"):
                    if any(a["jwt"] == data["jwt"] for a in self.accounts.values()):
                        self.revoked.add(("jwt", data["jwt"]))
                        return json_response(200, {"ok": True})
                    # A minted JWT is its key: revoking one revokes the other, as on Pinata.
                    api_key = self._jwt_key(data["jwt"])
                    if api_key is None:
                        raise ControlError(404, "no account has that jwt")
                    self.revoked.add(("api_key", api_key))
                    return json_response(200, {"ok": True})
            raise ControlError(400, "give api_key or jwt")
        if parts == ["ratelimit"] and req.method == "POST":
            data = control_json(req)
            count = data.get("count", 1)
            if not isinstance(count, int) or count < 0:
                raise ControlError(400, "count must be a non-negative integer")
            with self.lock:
                self.forced_429 = count
            return json_response(200, {"ok": True, "count": count})
        if parts == ["ratelimit", "reset"] and req.method == "POST":
            with self.lock:
                self.forced_429 = 0
                self.overall.reset()
                self.data.reset()
            return json_response(200, {"ok": True})
        if parts == ["pins"] and req.method == "GET":
            with self.lock:
                account = self.accounts.get(req.query.get("account", ""))
                if account is None:
                    raise ControlError(404, "no such account (use ?account=<name>)")
                return json_response(200, {"ok": True, "pins": list(account["pins"].values())})
        return None

    # ----- the API -----

    ROUTES = {
        ("GET", "/data/testAuthentication"): "test_authentication",
        ("GET", "/data/userPinnedDataTotal"): "user_pinned_data_total",
        ("POST", "/pinning/pinJSONToIPFS"): "pin_json",
    }

    def handle(self, req):
        route = self.ROUTES.get((req.method if req.method != "HEAD" else "GET", req.path.rstrip("/") or "/"))
        if route is None:
            return json_response(404, {"error": {"reason": "NOT_FOUND",
                                                 "details": "Cannot %s %s" % (req.method, req.path)}})
        try:
            with self.lock:
                account, scopes = self._authenticate(req)
                needed = ROUTE_SCOPES[route]
                if needed and not (scopes.get("admin") or
                                   ((scopes.get("endpoints") or {}).get(needed[0]) or {}).get(needed[1])):
                    raise PinataError(403, NO_SCOPES)
                headers = self._rate_limit(account, req.path.startswith("/data/"))
            status, body = getattr(self, "r_" + route)(account, req)
        except PinataError as exc:
            return json_response(exc.status, exc.body, exc.headers)
        return json_response(status, body, headers)

    def _authenticate(self, req):
        auth = req.headers.get("Authorization")
        if auth is not None:
            scheme, _sep, jwt = auth.strip().partition(" ")
            jwt = jwt.strip()
            if scheme.lower() != "bearer" or not jwt:
                raise PinataError(401, INVALID_CREDENTIALS)
            # A JWT registered as an opaque string through the control API (older lab callers).
            for account in self.accounts.values():
                if account["jwt"] and account["jwt"] == jwt and ("jwt", jwt) not in self.revoked:
                    return account, ADMIN
            key = self._jwt_key(jwt)
            if key is None or ("api_key", key) in self.revoked:
                raise PinataError(401, INVALID_CREDENTIALS)
            return self.accounts[self.keys[key]["account"]], self.keys[key]["scopes"]
        key = req.headers.get("pinata_api_key")
        secret = req.headers.get("pinata_secret_api_key")
        if not key or not secret:
            raise PinataError(400, KEYS_MUST_BE_STRINGS)
        entry = self.keys.get(key)
        if entry is None or entry["secret"] != secret or ("api_key", key) in self.revoked:
            raise PinataError(401, INVALID_CREDENTIALS)
        return self.accounts[entry["account"]], entry["scopes"]

    def _rate_limit(self, account, is_data):
        """Count the request against the account's windows; the X-RateLimit-* headers to send."""
        now = time.time()
        name = account["name"]
        windows = [self.overall] + ([self.data] if is_data else [])
        checks = [(w, w.status(name, now)) for w in windows]
        # The tighter window is the one the headers describe.
        window, (allowed, remaining, reset_at) = min(checks, key=lambda c: (c[1][0], c[1][1]))
        headers = {"X-RateLimit-Limit": str(window.limit), "X-RateLimit-Remaining": str(remaining),
                   "X-RateLimit-Reset": str(int(math.ceil(reset_at)))}
        if self.forced_429 > 0:
            self.forced_429 -= 1
            allowed = False
            headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(math.ceil(now + WINDOW)))})
        if not allowed:
            headers["Retry-After"] = "60"
            scope = "/data/* endpoints" if window is self.data else "all endpoints"
            raise PinataError(429, {"error": {"reason": "RATE_LIMITED", "details": (
                "Rate limit exceeded: %d requests per minute on %s" % (window.limit, scope))}}, headers)
        for w in windows:
            w.add(name, now)
        headers["X-RateLimit-Remaining"] = str(remaining - 1)
        return headers

    def r_test_authentication(self, account, req):
        return 200, dict(AUTH_OK)

    def r_user_pinned_data_total(self, account, req):
        with self.lock:
            return 200, self._totals(account)

    def r_pin_json(self, account, req):
        try:
            body = req.json_body()
        except (ValueError, UnicodeDecodeError):
            raise PinataError(400, {"error": {"reason": "INVALID_REQUEST", "details": "Request body is not valid JSON"}})
        if isinstance(body, dict) and "pinataContent" in body:
            content, metadata = body["pinataContent"], body.get("pinataMetadata") or {}
        else:
            content, metadata = body, {}
        if content in (None, {}, [], ""):
            raise PinataError(400, {"error": {"reason": "INVALID_REQUEST", "details": "pinataContent is empty"}})
        data = json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")
        ipfs_hash = cid_v0(data)
        with self.lock:
            existing = account["pins"].get(ipfs_hash)
            if existing is not None:
                return 200, {"IpfsHash": ipfs_hash, "PinSize": existing["PinSize"],
                             "Timestamp": existing["Timestamp"], "isDuplicate": True}
            pin = {"IpfsHash": ipfs_hash, "PinSize": len(data), "Timestamp": iso_now(),
                   "name": metadata.get("name") if isinstance(metadata, dict) else None}
            account["pins"][ipfs_hash] = pin
            return 200, {"IpfsHash": ipfs_hash, "PinSize": pin["PinSize"], "Timestamp": pin["Timestamp"],
                         "isDuplicate": False}
