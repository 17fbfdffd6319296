"""The toncenter v2 emulator against the contract in api-contracts.md."""
import re
import time

import pytest

from tgops_emulators.toncenter import crc16_xmodem, friendly_address, parse_address

RAW = "0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8"
BOUNCEABLE = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"
NON_BOUNCEABLE = "UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI"
MAIN_KEY = "main-key-0123456789abcdef"
TEST_KEY = "testnet-key-0123456789abcdef"
SEED = {
    "keys": [{"key": MAIN_KEY, "network": "mainnet"}, {"key": TEST_KEY, "network": "testnet"}],
    "wallets": [{"address": RAW, "balance_nanoton": "1234567890123", "state": "active", "seqno": 17}],
}


@pytest.fixture
def ton(start_emulator):
    return start_emulator("toncenter", seed=SEED)


def get(http, ton, method, key=MAIN_KEY, net="/api/v2/", **params):
    headers = {"X-API-Key": key} if key else {}
    return http.get(ton.url + net + method, params=params, headers=headers, timeout=5)


EXTRA_RE = re.compile(r"^\d{10}:[0-9,_]+:\d+\.\d+$")


def body(resp):
    """The answer without ``@extra``, after checking that the API server put it there (ton-http-api-cpp
    ``TonlibRequestHandler``: every answer of the server itself carries ``@extra``, time:workers:ms)."""
    data = resp.json()
    assert EXTRA_RE.match(data.pop("@extra", "")), resp.text
    return data


def assert_error(resp, code, message, status=None, field="error", extra=True):
    assert resp.status_code == (code if status is None else status)
    data = body(resp) if extra else resp.json()
    assert data == {"ok": False, field: message, "code": code}


# ----- addresses (TEP-2) -----

def test_crc16_xmodem_check_value_and_test_vector_round_trip():
    assert crc16_xmodem(b"123456789") == 0x31C3
    parsed = parse_address(RAW)
    assert parsed == parse_address(BOUNCEABLE) == parse_address(NON_BOUNCEABLE) == parse_address(RAW.upper())
    assert friendly_address(*parsed, bounceable=True) == BOUNCEABLE
    assert friendly_address(*parsed, bounceable=False) == NON_BOUNCEABLE
    testnet_form = friendly_address(*parsed, testnet=True)
    assert parse_address(testnet_form) == parsed
    standard_b64 = friendly_address(*parsed, url_safe=False)
    assert parse_address(standard_b64) == parsed


@pytest.mark.parametrize("address", [
    RAW, BOUNCEABLE, NON_BOUNCEABLE, RAW.upper(),
])
def test_every_form_of_the_vector_hits_the_same_wallet(http, ton, address):
    resp = get(http, ton, "getAddressBalance", address=address)
    assert resp.status_code == 200
    assert body(resp) == {"ok": True, "result": "1234567890123"}


@pytest.mark.parametrize("address", [
    BOUNCEABLE[:-1] + ("O" if BOUNCEABLE[-1] != "O" else "P"),  # checksum broken
    "2:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8",  # workchain 2
    "0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31",  # short hash
    "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2",  # 47 characters
    "not-an-address",
])
def test_bad_address_is_422_with_the_servers_message(http, ton, address):
    assert_error(get(http, ton, "getAddressBalance", address=address), 422,
                 "failed to parse get request: Failed to parse ton_addr: '%s'" % address)


def test_missing_address_is_422(http, ton):
    resp = get(http, ton, "getAddressInformation")
    assert resp.status_code == 422 and resp.json()["ok"] is False and resp.json()["code"] == 422


def test_unknown_address_is_uninitialized_with_zero_balance(http, ton):
    other = "-1:" + "ab" * 32
    assert get(http, ton, "getAddressBalance", address=other).json()["result"] == "0"
    info = get(http, ton, "getAddressInformation", address=other).json()["result"]
    assert info["balance"] == "0" and info["state"] == "uninitialized"
    assert info["last_transaction_id"] == {"@type": "internal.transactionId", "lt": "0",
                                           "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
    wallet = get(http, ton, "getWalletInformation", address=other).json()["result"]
    assert wallet["wallet"] is False and wallet["account_state"] == "uninitialized" and wallet["balance"] == "0"


def test_mainnet_and_testnet_keep_separate_wallets(http, ton):
    resp = get(http, ton, "getAddressBalance", key=TEST_KEY, net="/testnet/api/v2/", address=BOUNCEABLE)
    assert body(resp) == {"ok": True, "result": "0"}
    wallet = {"address": NON_BOUNCEABLE, "network": "testnet", "balance_nanoton": 5, "state": "active"}
    http.post(ton.url + "/_control/wallets", json=wallet, timeout=5)
    assert get(http, ton, "getAddressBalance", key=TEST_KEY, net="/testnet/api/v2/", address=RAW).json()["result"] == "5"
    assert get(http, ton, "getAddressBalance", address=RAW).json()["result"] == "1234567890123"


# ----- methods -----

def test_address_information_shape(http, ton):
    info = get(http, ton, "getAddressInformation", address=BOUNCEABLE).json()["result"]
    assert info["balance"] == "1234567890123" and isinstance(info["balance"], str)
    assert info["state"] == "active"
    assert info["last_transaction_id"]["@type"] == "internal.transactionId"
    assert info["last_transaction_id"]["lt"].isdigit() and info["last_transaction_id"]["hash"]
    assert isinstance(info["sync_utime"], int) and abs(info["sync_utime"] - time.time()) < 5
    assert info["code"] and info["data"] and info["frozen_hash"] == ""


def test_wallet_information_shape(http, ton):
    info = get(http, ton, "getWalletInformation", address=NON_BOUNCEABLE).json()["result"]
    assert info["wallet"] is True and info["balance"] == "1234567890123" and info["account_state"] == "active"
    assert info["wallet_type"] == "wallet v4 r2" and info["seqno"] == 17 and isinstance(info["wallet_id"], int)


def test_frozen_state_and_control_validation(http, ton):
    resp = http.post(ton.url + "/_control/wallets", json={"address": RAW, "balance_nanoton": 0, "state": "frozen"},
                     timeout=5)
    assert resp.json()["bounceable"] == BOUNCEABLE and resp.json()["non_bounceable"] == NON_BOUNCEABLE
    info = get(http, ton, "getAddressInformation", address=RAW).json()["result"]
    assert info["state"] == "frozen" and info["frozen_hash"]
    assert get(http, ton, "getWalletInformation", address=RAW).json()["result"]["wallet"] is False
    bad = http.post(ton.url + "/_control/wallets", json={"address": RAW, "balance_nanoton": 1.5}, timeout=5)
    assert bad.status_code == 400
    assert http.post(ton.url + "/_control/wallets", json={"address": "x"}, timeout=5).status_code == 400


def test_masterchain_info(http, ton):
    result = get(http, ton, "getMasterchainInfo").json()["result"]
    assert result["@type"] == "blocks.masterchainInfo"
    assert result["last"]["workchain"] == -1 and result["last"]["seqno"] > 0


def test_unknown_method_path_and_verb(http, ton):
    assert_error(get(http, ton, "getNothing"), 404, "Not Found", extra=False)
    assert_error(http.get(ton.url + "/api/v3/getMasterchainInfo", timeout=5), 404, "Not Found", extra=False)
    # ton-http-api-cpp TonlibRequestHandler::ParseTonlibRequestThrow: GET and POST only.
    assert_error(http.put(ton.url + "/api/v2/getMasterchainInfo", headers={"X-API-Key": MAIN_KEY}, timeout=5),
                 405, "unsupported http method: PUT")


def test_get_address_state(http, ton):
    """toncenter v2 OpenAPI (ton-http-api-cpp schemas/v2.yaml) ``/api/v2/getAddressState``: the state as a string."""
    assert body(get(http, ton, "getAddressState", address=BOUNCEABLE)) == {"ok": True, "result": "active"}
    assert get(http, ton, "getAddressState", address="0:" + "00" * 32).json()["result"] == "uninitialized"
    http.post(ton.url + "/_control/wallets", json={"address": RAW, "balance_nanoton": 0, "state": "frozen"}, timeout=5)
    assert get(http, ton, "getAddressState", address=NON_BOUNCEABLE).json()["result"] == "frozen"
    assert_error(get(http, ton, "getAddressState", address="nope"), 422,
                 "failed to parse get request: Failed to parse ton_addr: 'nope'")


def test_post_with_a_json_body_is_the_get_method(http, ton):
    """toncenter v2 OpenAPI: every method also has a POST form whose JSON body holds the parameters
    (``getAddressBalance_post`` with AddressRequest); ton-http-api-cpp ``ParseTonlibPostRequest``."""
    headers = {"X-API-Key": MAIN_KEY}
    resp = http.post(ton.url + "/api/v2/getAddressBalance", json={"address": BOUNCEABLE}, headers=headers, timeout=5)
    assert body(resp) == {"ok": True, "result": "1234567890123"}
    resp = http.post(ton.url + "/api/v2/getMasterchainInfo", json={}, headers=headers, timeout=5)
    assert body(resp)["result"]["@type"] == "blocks.masterchainInfo"
    assert_error(http.post(ton.url + "/api/v2/getAddressBalance", json={"address": "x"}, headers=headers, timeout=5),
                 422, "failed to parse post request: Failed to parse ton_addr: 'x'")
    resp = http.post(ton.url + "/api/v2/getAddressBalance", data="address=" + RAW, headers=dict(
        headers, **{"Content-Type": "application/x-www-form-urlencoded"}), timeout=5)
    assert resp.status_code == 422 and body(resp)["error"].startswith("failed to parse post request: ")


def test_json_rpc_endpoint(http, ton):
    """toncenter v2 OpenAPI ``/api/v2/jsonRPC`` and docs.ton.org v2-authentication (same key rules):
    ton-http-api-cpp ``JsonRpcHandler`` posts ``params`` to /api/v2/<method> and returns that answer."""
    headers = {"X-API-Key": MAIN_KEY}
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "getAddressBalance", "params": {"address": NON_BOUNCEABLE}}
    resp = http.post(ton.url + "/api/v2/jsonRPC", json=rpc, headers=headers, timeout=5)
    assert resp.status_code == 200 and body(resp) == {"ok": True, "result": "1234567890123"}
    rpc.update(method="getWalletInformation")
    assert http.post(ton.url + "/api/v2/jsonRPC", json=rpc, headers=headers, timeout=5).json()["result"]["seqno"] == 17
    rpc = {"jsonrpc": "2.0", "id": 2, "method": "getMasterchainInfo"}
    resp = http.post(ton.url + "/testnet/api/v2/jsonRPC", json=rpc, headers={"X-API-Key": TEST_KEY}, timeout=5)
    assert resp.json()["ok"] is True
    # Keys work as for every method; the bad cases of the handler itself.
    assert_error(http.post(ton.url + "/api/v2/jsonRPC", json=rpc, headers={"X-API-Key": TEST_KEY}, timeout=5),
                 403, "Network not allowed", extra=False)
    assert_error(http.get(ton.url + "/api/v2/jsonRPC", headers=headers, timeout=5), 405, "method GET is not supported")
    assert_error(http.post(ton.url + "/api/v2/jsonRPC", json=dict(rpc, params=[1]), headers=headers, timeout=5),
                 422, "params must contain an object")
    assert_error(http.post(ton.url + "/api/v2/jsonRPC", json={"method": "getNothing"}, headers=headers, timeout=5),
                 404, "Not Found", extra=False)
    resp = http.post(ton.url + "/api/v2/jsonRPC", json=dict(rpc, method="getAddressBalance", params={}),
                     headers=headers, timeout=5)
    assert_error(resp, 422, "failed to parse post request: address is required")


# ----- keys and rate limits -----

def test_key_errors_401_and_403(http, ton):
    assert_error(get(http, ton, "getMasterchainInfo", key="nope"), 401, "API key does not exist", extra=False)
    assert_error(get(http, ton, "getMasterchainInfo", key=TEST_KEY), 403, "Network not allowed", extra=False)
    assert_error(get(http, ton, "getMasterchainInfo", key=MAIN_KEY, net="/testnet/api/v2/"), 403, "Network not allowed",
                 extra=False)
    # The query parameter works like the header.
    resp = http.get(ton.url + "/testnet/api/v2/getMasterchainInfo", params={"api_key": TEST_KEY}, timeout=5)
    assert resp.json()["ok"] is True
    http.post(ton.url + "/_control/keys/revoke", json={"key": MAIN_KEY}, timeout=5)
    assert_error(get(http, ton, "getMasterchainInfo"), 401, "API key does not exist", extra=False)


def test_keyless_is_one_request_per_second(http, ton):
    assert get(http, ton, "getMasterchainInfo", key=None).status_code == 200
    assert_error(get(http, ton, "getMasterchainInfo", key=None), 429, "Ratelimit without API Key exceed: 1 per second",
                 field="result", extra=False)
    # A keyed client is not limited meanwhile.
    for _attempt in range(5):
        assert get(http, ton, "getMasterchainInfo").status_code == 200
    time.sleep(1.05)
    assert get(http, ton, "getMasterchainInfo", key=None).status_code == 200


def test_key_with_its_own_per_second_limit(http, ton):
    resp = http.post(ton.url + "/_control/keys", json={"key": "slow-key", "network": "mainnet", "rps": 2}, timeout=5)
    assert resp.json() == {"ok": True, "network": "mainnet", "rps": 2, "plan": "custom", "account": "default"}
    answers = [get(http, ton, "getMasterchainInfo", key="slow-key") for _attempt in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[2].json() == {"ok": False, "result": "Ratelimit exceed", "code": 429}


def test_documented_429_body_and_plan_limit_shared_by_the_accounts_keys_per_network(http, ton):
    """docs.ton.org/ecosystem/api/toncenter/rate-limit: Free 10 rps, Plus 25, Advanced 100; "Rate limits
    apply to all API keys in total separately for every TON network"; the 429 answer is
    ``{"ok": false, "result": "Ratelimit exceed", "code": 429}``."""
    for key, network in (("acme-main-1", "mainnet"), ("acme-main-2", "mainnet"), ("acme-test", "testnet")):
        resp = http.post(ton.url + "/_control/keys", json={"key": key, "network": network, "plan": "free",
                                                           "account": "acme"}, timeout=5)
        assert resp.json()["rps"] == 10 and resp.json()["plan"] == "free"
    answers = [get(http, ton, "getMasterchainInfo", key="acme-main-%d" % (1 + n % 2)) for n in range(11)]
    assert [r.status_code for r in answers] == [200] * 10 + [429]
    assert answers[10].json() == {"ok": False, "result": "Ratelimit exceed", "code": 429}
    assert get(http, ton, "getMasterchainInfo", key="acme-main-1").status_code == 429
    # The other network has its own budget, and so has another account.
    assert get(http, ton, "getMasterchainInfo", key="acme-test", net="/testnet/api/v2/").status_code == 200
    http.post(ton.url + "/_control/keys", json={"key": "other-free", "network": "mainnet", "plan": "free",
                                                "account": "other"}, timeout=5)
    assert get(http, ton, "getMasterchainInfo", key="other-free").status_code == 200
    # Upgrading the account's plan lifts the shared limit of all its keys.
    resp = http.post(ton.url + "/_control/keys", json={"key": "acme-main-3", "network": "mainnet", "plan": "plus",
                                                       "account": "acme"}, timeout=5)
    assert resp.json()["rps"] == 25
    keys = http.get(ton.url + "/_control/keys", timeout=5).json()["keys"]
    listed = {k["plan"] + "/" + k["account"]: k["rps"] for k in keys}
    assert listed["plus/acme"] == 25 and listed["free/acme"] == 25 and listed["free/other"] == 10
    time.sleep(1.05)
    codes = [get(http, ton, "getMasterchainInfo", key="acme-main-%d" % (1 + n % 3)).status_code for n in range(12)]
    assert codes == [200] * 12
    assert ton.app.plan_windows[("acme", "mainnet")].limit == 25
    for bad in ({"key": "k", "plan": "gold"}, {"key": "k", "plan": "free", "rps": 3}, {"key": "k", "account": ""}):
        assert http.post(ton.url + "/_control/keys", json=bad, timeout=5).status_code == 400


def test_lab_key_is_never_limited(http, ton):
    """The key lab/provision.yml registers for tgquiz (no plan, no rps) must never throttle the lab."""
    resp = http.post(ton.url + "/_control/keys", json={"key": "lab-key", "network": "mainnet"}, timeout=5)
    assert resp.json()["plan"] == "lab" and resp.json()["rps"] is None
    assert all(get(http, ton, "getMasterchainInfo", key="lab-key").status_code == 200 for _attempt in range(40))


@pytest.mark.parametrize("variant, status, expected", [
    ("http429", 429, {"ok": False, "error": "Ratelimit exceed", "code": 429}),
    ("http200_code429", 200, {"ok": False, "error": "Ratelimit exceed", "code": 429}),
    ("result_field", 429, {"ok": False, "result": "Ratelimit exceed", "code": 429}),
])
def test_forced_rate_limit_variants(http, ton, variant, status, expected):
    resp = http.post(ton.url + "/_control/ratelimit", json={"count": 2, "variant": variant}, timeout=5)
    assert resp.json() == {"ok": True, "count": 2, "variant": variant}
    for _attempt in range(2):
        resp = get(http, ton, "getAddressBalance", address=RAW)
        assert resp.status_code == status and resp.json() == expected
    assert get(http, ton, "getAddressBalance", address=RAW).json()["ok"] is True
    assert http.post(ton.url + "/_control/ratelimit", json={"variant": "bogus"}, timeout=5).status_code == 400


def test_forced_liteserver_failure(http, ton):
    http.post(ton.url + "/_control/fail", json={"count": 1, "code": 504}, timeout=5)
    assert_error(get(http, ton, "getMasterchainInfo"), 504, "LITE_SERVER_NETWORK: timeout")
    assert get(http, ton, "getMasterchainInfo").status_code == 200


def test_reset_restores_seed_and_log_masks_key(http, ton, capsys):
    http.post(ton.url + "/_control/wallets", json={"address": RAW, "balance_nanoton": 1}, timeout=5)
    http.post(ton.url + "/_control/reset", timeout=5)
    assert get(http, ton, "getAddressBalance", address=RAW).json()["result"] == "1234567890123"
    http.get(ton.url + "/api/v2/getMasterchainInfo", params={"api_key": MAIN_KEY}, timeout=5)
    err = capsys.readouterr().err
    assert "api_key=***" in err and MAIN_KEY not in err
