"""toncenter HTTP API v2 emulator: mainnet under /api/v2/, testnet under /testnet/api/v2/.

Wallets are keyed by (network, workchain, account hash), so the raw form and both user-friendly
forms (TEP-2) of one address reach the same wallet. The address parser is this emulator's own: it
must not share code with the collection's client that it tests.
"""
import base64
import hashlib
import json
import re
import time

from .common import ControlError, Emulator, SlidingWindow, control_json, json_response, mask_query

NETWORKS = {"/api/v2/": "mainnet", "/testnet/api/v2/": "testnet"}
STATES = ("active", "uninitialized", "frozen")
ZERO_HASH = base64.b64encode(bytes(32)).decode()
# A serialized empty cell: stands in for a contract's code and data.
EMPTY_CELL_BOC = "te6cckEBAQEAAgAAAEysuc0="
WALLET_V4R2_ID = 698983191
RATE_LIMIT_VARIANTS = ("http429", "http200_code429", "result_field")
# docs.ton.org/ecosystem/api/toncenter/rate-limit: requests per second per plan, "for all API keys in
# total separately for every TON network". "lab" is this emulator's own: never limited.
PLANS = {"free": 10, "plus": 25, "advanced": 100, "lab": None}
DEFAULT_ACCOUNT = "default"

RAW_RE = re.compile(r"^(-?\d{1,3}):([0-9a-fA-F]{64})$")
FRIENDLY_RE = re.compile(r"^[A-Za-z0-9+/_-]{48}$")


def crc16_xmodem(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def parse_address(text):
    """(workchain, 32-byte hash) for a raw or user-friendly address; None when invalid."""
    text = (text or "").strip()
    match = RAW_RE.match(text)
    if match:
        workchain = int(match.group(1))
        if workchain not in (0, -1):
            return None
        return workchain, bytes.fromhex(match.group(2))
    if not FRIENDLY_RE.match(text):
        return None
    if set("+/") & set(text) and set("-_") & set(text):
        return None  # one alphabet or the other, not both
    try:
        data = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except ValueError:
        return None
    if len(data) != 36 or (data[0] & 0x7F) not in (0x11, 0x51):
        return None
    if data[1] not in (0x00, 0xFF):
        return None
    if crc16_xmodem(data[:34]) != int.from_bytes(data[34:], "big"):
        return None
    return (-1 if data[1] == 0xFF else 0), data[2:34]


def friendly_address(workchain, account_hash, bounceable=True, testnet=False, url_safe=True):
    tag = (0x11 if bounceable else 0x51) | (0x80 if testnet else 0)
    body = bytes([tag, workchain & 0xFF]) + account_hash
    data = body + crc16_xmodem(body).to_bytes(2, "big")
    return (base64.urlsafe_b64encode if url_safe else base64.b64encode)(data).decode()


def raw_address(workchain, account_hash):
    return "%d:%s" % (workchain, account_hash.hex())


class PostParams(dict):
    """Parameters from a JSON body (POST or jsonRPC): the server's errors then say "post request"."""

    def __init__(self, data):
        super().__init__((k, v if isinstance(v, str) else json.dumps(v)) for k, v in data.items() if v is not None)


class ToncenterError(Exception):
    """An error answer; ``server`` marks those of the API server itself, which carry ``@extra``."""

    def __init__(self, code, message, status=None, field="error", server=False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = code if status is None else status
        self.field = field
        self.server = server


class ToncenterEmulator(Emulator):
    name = "toncenter"

    def reset_state(self):
        self.keys = {}  # key -> {"network", "rps", "plan", "account", "revoked", "window"}
        self.account_plans = {}  # account -> plan: the subscription all its keys share
        self.plan_windows = {}  # (account, network) -> SlidingWindow shared by the account's keys there
        self.wallets = {"mainnet": {}, "testnet": {}}
        self.keyless = SlidingWindow(1, 1.0)
        self.forced_429 = None  # [count, variant]
        self.forced_fail = None  # [count, code, message]
        self.next_lt = 40000000000000

    def apply_seed(self, seed):
        for spec in seed.get("keys", []):
            self._add_key(spec)
        for spec in seed.get("wallets", []):
            self._set_wallet(spec)

    def mask(self, req):
        return req.path + mask_query(req.query_string, {"api_key"})

    def internal_error(self):
        return json_response(500, {"ok": False, "error": "internal emulator error", "code": 500})

    # ----- control helpers -----

    def _add_key(self, spec):
        key = spec.get("key")
        network = spec.get("network", "mainnet")
        if not isinstance(key, str) or not key:
            raise ControlError(400, "key must be a non-empty string")
        if network not in ("mainnet", "testnet"):
            raise ControlError(400, "network must be mainnet or testnet")
        rps = spec.get("rps")
        if rps is not None and (isinstance(rps, bool) or not isinstance(rps, int) or rps < 1):
            raise ControlError(400, "rps must be a positive integer or null (unlimited)")
        plan = spec.get("plan")
        if plan is not None and plan not in PLANS:
            raise ControlError(400, "plan must be one of %s" % ", ".join(PLANS))
        if plan is not None and rps is not None:
            raise ControlError(400, "give plan or rps, not both")
        account = spec.get("account", DEFAULT_ACCOUNT)
        if not isinstance(account, str) or not account:
            raise ControlError(400, "account must be a non-empty string")
        if plan is None:
            # Before plans existed: rps alone is this key's own limit; neither is the lab's unlimited key.
            plan = "custom" if rps else "lab"
        if PLANS.get(plan):
            self.account_plans[account] = plan  # a plan is the account's: all its keys move with it
        self.keys[key] = {"network": network, "rps": rps, "plan": plan, "account": account, "revoked": False,
                          "window": SlidingWindow(rps, 1.0) if plan == "custom" else None}

    def _set_wallet(self, spec):
        network = spec.get("network", "mainnet")
        if network not in self.wallets:
            raise ControlError(400, "network must be mainnet or testnet")
        parsed = parse_address(spec.get("address"))
        if parsed is None:
            raise ControlError(400, "address is not a valid TON address: %r" % spec.get("address"))
        balance = spec.get("balance_nanoton", 0)
        # Balances are integers of nanotons: a float here would be a lab bug worth failing loudly.
        if isinstance(balance, bool) or not (isinstance(balance, int) or (isinstance(balance, str) and balance.isdigit())):
            raise ControlError(400, "balance_nanoton must be a non-negative integer or decimal string")
        balance = int(balance)
        state = spec.get("state", "active")
        if state not in STATES:
            raise ControlError(400, "state must be one of %s" % ", ".join(STATES))
        self.next_lt += 1000
        wallet_type = spec.get("wallet_type", "wallet v4 r2" if state == "active" else None)
        record = {
            "balance": balance, "state": state, "wallet_type": wallet_type,
            "seqno": int(spec.get("seqno", 1 if state == "active" else 0)),
            "wallet_id": int(spec.get("wallet_id", WALLET_V4R2_ID)),
            "lt": str(self.next_lt) if state != "uninitialized" or balance else "0",
        }
        record["hash"] = (base64.b64encode(hashlib.sha256(("%s:%s" % (parsed, record["lt"])).encode()).digest()).decode()
                          if record["lt"] != "0" else ZERO_HASH)
        self.wallets[network][parsed] = record
        return parsed

    def control(self, req, parts):
        if parts == ["keys"] and req.method == "POST":
            data = control_json(req)
            with self.lock:
                self._add_key(data)
                entry = self.keys[data["key"]]
            return json_response(200, {"ok": True, "network": entry["network"], "rps": self._key_rps(entry),
                                       "plan": entry["plan"], "account": entry["account"]})
        if parts == ["keys"] and req.method == "GET":
            with self.lock:
                keys = [{"key": k[:4] + "***", "network": v["network"], "rps": self._key_rps(v), "plan": v["plan"],
                         "account": v["account"], "revoked": v["revoked"]}
                        for k, v in self.keys.items()]
            return json_response(200, {"ok": True, "keys": keys})
        if parts == ["keys", "revoke"] and req.method == "POST":
            return self.revoke_key(req, self.keys)
        if parts == ["wallets"] and req.method == "POST":
            data = control_json(req)
            with self.lock:
                workchain, account = self._set_wallet(data)
            return json_response(200, {"ok": True, "network": data.get("network", "mainnet"),
                                       "raw": raw_address(workchain, account),
                                       "bounceable": friendly_address(workchain, account, True),
                                       "non_bounceable": friendly_address(workchain, account, False)})
        if parts == ["wallets"] and req.method == "GET":
            with self.lock:
                out = [{"network": net, "raw": raw_address(*addr), "balance_nanoton": str(w["balance"]),
                        "state": w["state"]} for net, wallets in self.wallets.items() for addr, w in wallets.items()]
            return json_response(200, {"ok": True, "wallets": out})
        if parts == ["ratelimit"] and req.method == "POST":
            data = control_json(req)
            variant = data.get("variant", "http429")
            if variant not in RATE_LIMIT_VARIANTS:
                raise ControlError(400, "variant must be one of %s" % ", ".join(RATE_LIMIT_VARIANTS))
            count = data.get("count", 1)
            if not isinstance(count, int) or count < 0:
                raise ControlError(400, "count must be a non-negative integer")
            with self.lock:
                self.forced_429 = [count, variant] if count else None
            return json_response(200, {"ok": True, "count": count, "variant": variant})
        if parts == ["fail"] and req.method == "POST":
            data = control_json(req)
            count, code = data.get("count", 1), data.get("code", 504)
            if not isinstance(count, int) or count < 0 or not isinstance(code, int) or not 400 <= code <= 599:
                raise ControlError(400, "count must be >= 0 and code an HTTP error status")
            with self.lock:
                self.forced_fail = [count, code, data.get("error", "LITE_SERVER_NETWORK: timeout")] if count else None
            return json_response(200, {"ok": True, "count": count, "code": code})
        return None

    # ----- the API -----

    def _key_rps(self, entry):
        """The requests per second this key may make (shared with its account's keys on a plan); None = no limit."""
        if entry["plan"] == "custom":
            return entry["rps"]
        if entry["plan"] == "lab":
            return None
        return PLANS[self.account_plans.get(entry["account"], entry["plan"])]

    def handle(self, req):
        started = time.monotonic()
        try:
            body = self._handle(req)
        except ToncenterError as exc:
            body = {"ok": False, exc.field: exc.message, "code": exc.code}
            if exc.server:
                body["@extra"] = self._extra(started)
            return json_response(exc.status, body)
        body.setdefault("@extra", self._extra(started))
        return json_response(200, body)

    @staticmethod
    def _extra(started):
        """ton-http-api-cpp's ``@extra`` (multiclient Session::to_string): unix time, liteserver workers, ms."""
        return "%d:0:%.3f" % (time.time(), (time.monotonic() - started) * 1000)

    def _handle(self, req):
        network = None
        for prefix, net in NETWORKS.items():
            if req.path.startswith(prefix):
                network, method_name = net, req.path[len(prefix):]
                break
        if network is None:
            raise ToncenterError(404, "Not Found")
        key = req.headers.get("X-API-Key") or req.query.get("api_key") or None
        # Keys and rate limits belong to toncenter's gateway, in front of the API server: their
        # answers carry no @extra. The documented 429 body has the message in "result".
        with self.lock:
            if key is not None:
                entry = self.keys.get(key)
                if entry is None or entry["revoked"]:
                    raise ToncenterError(401, "API key does not exist")
                if entry["network"] != network:
                    raise ToncenterError(403, "Network not allowed")
            if self.forced_fail:
                self.forced_fail[0] -= 1
                code, message = self.forced_fail[1], self.forced_fail[2]
                if self.forced_fail[0] <= 0:
                    self.forced_fail = None
                raise ToncenterError(code, message, server=True)
            if self.forced_429:
                self.forced_429[0] -= 1
                variant = self.forced_429[1]
                if self.forced_429[0] <= 0:
                    self.forced_429 = None
                if variant == "http200_code429":
                    raise ToncenterError(429, "Ratelimit exceed", status=200)
                if variant == "result_field":
                    raise ToncenterError(429, "Ratelimit exceed", field="result")
                raise ToncenterError(429, "Ratelimit exceed")
            if key is None:
                allowed, _remaining, _reset = self.keyless.hit((network, req.client_ip))
                if not allowed:
                    raise ToncenterError(429, "Ratelimit without API Key exceed: 1 per second", field="result")
            elif not self._key_hit(key, entry, network):
                raise ToncenterError(429, "Ratelimit exceed", field="result")
        if method_name == "jsonRPC":
            return self._json_rpc(network, req)
        method = self.METHODS.get(method_name)
        if method is None:
            raise ToncenterError(404, "Not Found")
        if req.method in ("GET", "HEAD"):
            params = req.query
        elif req.method == "POST":
            params = self._post_params(req)
        else:
            raise ToncenterError(405, "unsupported http method: %s" % req.method, server=True)
        return {"ok": True, "result": method(self, network, params)}

    def _key_hit(self, key, entry, network):
        """Count one request against the key's limit: its own (rps) or its account's plan on this network."""
        if entry["plan"] == "custom":
            return entry["window"].hit(key)[0]
        rps = self._key_rps(entry)
        if rps is None:
            return True
        window = self.plan_windows.setdefault((entry["account"], network), SlidingWindow(rps, 1.0))
        window.limit = rps  # follows a plan change of the account
        return window.hit("all")[0]

    @staticmethod
    def _post_params(req):
        """ton-http-api-cpp ``ParseTonlibPostRequest``: the parameters are a JSON object body."""
        try:
            data = json.loads(req.body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ToncenterError(422, "failed to parse post request: %s" % exc, server=True)
        if not isinstance(data, dict):
            raise ToncenterError(422, "failed to parse post request: the body must be a JSON object", server=True)
        return PostParams(data)

    def _json_rpc(self, network, req):
        """``POST /api/v2/jsonRPC {"method", "params": {...}, "id"}``: ton-http-api-cpp's JsonRpcHandler
        posts params to /api/v2/<method> and answers with that answer, status included."""
        if req.method != "POST":
            raise ToncenterError(405, "method %s is not supported" % req.method, server=True)
        try:
            data = json.loads(req.body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ToncenterError(422, "failed to parse json rpc request: %s" % exc, server=True)
        if not isinstance(data, dict) or not isinstance(data.get("method"), str):
            raise ToncenterError(422, "failed to parse json rpc request: method is required", server=True)
        params = data.get("params", {})
        if isinstance(params, list) and params:
            raise ToncenterError(422, "params must contain an object", server=True)
        if not isinstance(params, dict):
            params = {}
        method = self.METHODS.get(data["method"])
        if method is None:
            raise ToncenterError(404, "Not Found")
        return {"ok": True, "result": method(self, network, PostParams(params))}

    def _wallet(self, network, params):
        text = params.get("address")
        verb = "post" if isinstance(params, PostParams) else "get"
        if text is None or text == "":
            raise ToncenterError(422, "failed to parse %s request: address is required" % verb, server=True)
        parsed = parse_address(text)
        if parsed is None:
            raise ToncenterError(422, "failed to parse %s request: Failed to parse ton_addr: '%s'" % (verb, text),
                                 server=True)
        with self.lock:
            wallet = self.wallets[network].get(parsed)
            if wallet is None:
                return {"balance": 0, "state": "uninitialized", "wallet_type": None, "seqno": 0,
                        "wallet_id": WALLET_V4R2_ID, "lt": "0", "hash": ZERO_HASH}
            return dict(wallet)

    @staticmethod
    def _transaction_id(wallet):
        return {"@type": "internal.transactionId", "lt": wallet["lt"], "hash": wallet["hash"]}

    @staticmethod
    def _masterchain_seqno():
        # Moves on about every 5 s, like the real masterchain.
        return 30000000 + (int(time.time()) - 1700000000) // 5

    def _block_id(self, seqno):
        digest = hashlib.sha256(str(seqno).encode()).digest()
        return {"@type": "ton.blockIdExt", "workchain": -1, "shard": "-9223372036854775808", "seqno": seqno,
                "root_hash": base64.b64encode(digest).decode(),
                "file_hash": base64.b64encode(hashlib.sha256(digest).digest()).decode()}

    def m_get_address_balance(self, network, params):
        return str(self._wallet(network, params)["balance"])

    def m_get_address_information(self, network, params):
        wallet = self._wallet(network, params)
        active = wallet["state"] == "active"
        return {
            "@type": "raw.fullAccountState",
            "balance": str(wallet["balance"]),
            "extra_currencies": [],
            "code": EMPTY_CELL_BOC if active else "",
            "data": EMPTY_CELL_BOC if active else "",
            "last_transaction_id": self._transaction_id(wallet),
            "block_id": self._block_id(self._masterchain_seqno()),
            "frozen_hash": base64.b64encode(hashlib.sha256(wallet["hash"].encode()).digest()).decode()
            if wallet["state"] == "frozen" else "",
            "sync_utime": int(time.time()),
            "state": wallet["state"],
        }

    def m_get_wallet_information(self, network, params):
        wallet = self._wallet(network, params)
        result = {"wallet": False, "balance": str(wallet["balance"]), "account_state": wallet["state"]}
        if wallet["state"] == "active" and wallet["wallet_type"]:
            result.update(wallet=True, wallet_type=wallet["wallet_type"], seqno=wallet["seqno"],
                          wallet_id=wallet["wallet_id"])
        result["last_transaction_id"] = self._transaction_id(wallet)
        return result

    def m_get_address_state(self, network, params):
        return self._wallet(network, params)["state"]

    def m_get_masterchain_info(self, network, params):
        seqno = self._masterchain_seqno()
        return {"@type": "blocks.masterchainInfo", "last": self._block_id(seqno),
                "state_root_hash": base64.b64encode(hashlib.sha256(b"state%d" % seqno).digest()).decode(),
                "init": self._block_id(0)}

    METHODS = {
        "getAddressBalance": m_get_address_balance,
        "getAddressInformation": m_get_address_information,
        "getAddressState": m_get_address_state,
        "getWalletInformation": m_get_wallet_information,
        "getMasterchainInfo": m_get_masterchain_info,
    }
