"""The Stripe emulator: GET /v1/balance and its authentication errors."""
import time

import pytest

from tgops_emulators.stripe import mask_key

KEY = "sk_test_51LabKeyForUnitTests0000000000abcd"
LIVE_KEY = "sk_live_51LabLiveKeyForUnitTests000000wxyz"
SEED = {"keys": [{"key": KEY, "available": 123456, "pending": 789},
                 {"key": LIVE_KEY, "available": [{"amount": 5, "currency": "eur"}]}]}


@pytest.fixture
def stripe(start_emulator):
    return start_emulator("stripe", seed=SEED)


def balance(http, stripe, **kwargs):
    return http.get(stripe.url + "/v1/balance", timeout=5, **kwargs)


def test_balance_with_bearer_and_with_basic_auth(http, stripe):
    expected = {"object": "balance",
                "available": [{"amount": 123456, "currency": "usd", "source_types": {"card": 123456}}],
                "livemode": False,
                "pending": [{"amount": 789, "currency": "usd", "source_types": {"card": 789}}]}
    resp = balance(http, stripe, headers={"Authorization": "Bearer " + KEY})
    assert resp.status_code == 200 and resp.json() == expected
    assert resp.headers["Request-Id"].startswith("req_")
    assert balance(http, stripe, auth=(KEY, "")).json() == expected
    live = balance(http, stripe, headers={"Authorization": "Bearer " + LIVE_KEY}).json()
    assert live["livemode"] is True and live["available"][0]["currency"] == "eur"


def test_missing_key_is_401(http, stripe):
    resp = balance(http, stripe)
    assert resp.status_code == 401
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key. ")


def test_invalid_key_is_401_with_masked_key(http, stripe):
    bad = "sk_test_51SomethingNobodyRegistered000abcd"
    resp = balance(http, stripe, headers={"Authorization": "Bearer " + bad})
    assert resp.status_code == 401
    assert resp.json() == {"error": {"message": "Invalid API Key provided: sk_test_" + "*" * (len(bad) - 12) + "abcd",
                                     "type": "invalid_request_error"}}
    assert bad not in resp.text


def test_revoked_key_is_401_invalid(http, stripe):
    assert http.post(stripe.url + "/_control/keys/revoke", json={"key": KEY}, timeout=5).json() == {"ok": True}
    resp = balance(http, stripe, headers={"Authorization": "Bearer " + KEY})
    assert resp.status_code == 401
    assert resp.json()["error"]["message"] == "Invalid API Key provided: " + mask_key(KEY)
    assert KEY not in resp.text


def test_control_adds_keys_and_lists_them_masked(http, stripe):
    new = "rk_test_restrictedLabKey00000000009876"
    resp = http.post(stripe.url + "/_control/keys", json={"key": new, "available": 1}, timeout=5)
    assert resp.json() == {"ok": True, "key": mask_key(new)}
    assert balance(http, stripe, headers={"Authorization": "Bearer " + new}).json()["available"][0]["amount"] == 1
    listed = http.get(stripe.url + "/_control/keys", timeout=5).json()["keys"]
    assert len(listed) == 3 and all(k["key"] not in (KEY, LIVE_KEY, new) for k in listed)
    assert http.post(stripe.url + "/_control/keys", json={"key": "pk_test_x"}, timeout=5).status_code == 400


def test_mask_key_keeps_prefix_and_last_four():
    assert mask_key("sk_test_abcdefgh1234") == "sk_test_********1234"
    assert mask_key("sk_live_12") == "sk_live_**"
    assert mask_key("whatever-key-5678") == "*************5678"


def test_unknown_route_is_404(http, stripe):
    resp = http.get(stripe.url + "/v1/charges", headers={"Authorization": "Bearer " + KEY}, timeout=5)
    assert resp.status_code == 404
    assert resp.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/charges).")


# ----- key rolling, /v1/account, restricted keys, rate limits -----

def bearer(key):
    return {"Authorization": "Bearer " + key}


def test_rolled_key_works_during_grace_then_answers_api_key_expired(http, stripe):
    """docs.stripe.com/keys ("Roll a key"): the old key can stay valid until a chosen expiry, so both keys
    work meanwhile; afterwards Stripe answers 401 with ``code: api_key_expired`` and
    ``Expired API Key provided: ...`` (doc_url .../error-codes/api-key-expired; stripe-cli handles it)."""
    resp = http.post(stripe.url + "/_control/keys/roll", json={"key": KEY, "grace_seconds": 1}, timeout=5).json()
    new = resp["new_key"]
    assert new.startswith("sk_test_") and new != KEY and resp["key"] == mask_key(new)
    for key in (KEY, new):
        assert balance(http, stripe, headers=bearer(key)).json()["available"][0]["amount"] == 123456
    time.sleep(1.05)
    resp = balance(http, stripe, headers=bearer(KEY))
    assert resp.status_code == 401
    assert resp.json() == {"error": {"code": "api_key_expired",
                                     "doc_url": "https://stripe.com/docs/error-codes/api-key-expired",
                                     "message": "Expired API Key provided: " + mask_key(KEY),
                                     "type": "invalid_request_error"}}
    assert KEY not in resp.text
    assert balance(http, stripe, headers=bearer(new)).status_code == 200
    listed = {k["key"]: k for k in http.get(stripe.url + "/_control/keys", timeout=5).json()["keys"]}
    assert listed[mask_key(KEY)]["expired"] is True and listed[mask_key(new)]["expired"] is False
    # A roll with no grace expires the old key at once; a rolled key cannot be rolled again.
    resp = http.post(stripe.url + "/_control/keys/roll", json={"key": new, "new_key": "sk_test_51Third0000abcd"},
                     timeout=5).json()
    assert resp["new_key"] == "sk_test_51Third0000abcd"
    assert balance(http, stripe, headers=bearer(new)).json()["error"]["code"] == "api_key_expired"
    assert http.post(stripe.url + "/_control/keys/roll", json={"key": new}, timeout=5).status_code == 409
    assert http.post(stripe.url + "/_control/keys/roll", json={"key": "sk_test_nope"}, timeout=5).status_code == 404
    assert http.post(stripe.url + "/_control/keys/roll", json={"key": LIVE_KEY, "grace_seconds": -1},
                     timeout=5).status_code == 400


def test_account_is_the_same_for_the_old_and_the_rolled_key(http, stripe):
    """Stripe API ``GET /v1/account`` returns the Account (``id`` acct_..., ``object: "account"``): a
    rotation proves the new key belongs to the same account before switching."""
    old = http.get(stripe.url + "/v1/account", headers=bearer(KEY), timeout=5).json()
    assert old["object"] == "account" and old["id"].startswith("acct_")
    new = http.post(stripe.url + "/_control/keys/roll", json={"key": KEY, "grace_seconds": 60}, timeout=5).json()
    assert new["account"] == old["id"]
    assert http.get(stripe.url + "/v1/account", headers=bearer(new["new_key"]), timeout=5).json()["id"] == old["id"]
    # An unrelated key is another account, unless registered into this one.
    other = http.get(stripe.url + "/v1/account", headers=bearer(LIVE_KEY), timeout=5).json()["id"]
    assert other != old["id"]
    http.post(stripe.url + "/_control/keys", json={"key": "sk_test_51SameAccount00001234", "account": old["id"]},
              timeout=5)
    resp = http.get(stripe.url + "/v1/account", headers=bearer("sk_test_51SameAccount00001234"), timeout=5)
    assert resp.json()["id"] == old["id"]


def test_restricted_key_without_the_permission_is_403(http, stripe):
    """docs.stripe.com/keys (restricted API keys): a key limited to some resources gets a 403 permission
    error elsewhere, naming the rak_<resource>_read permission it lacks."""
    rk = "rk_test_51RestrictedBalanceOnly00005678"
    http.post(stripe.url + "/_control/keys", json={"key": rk, "permissions": ["balance"]}, timeout=5)
    assert balance(http, stripe, headers=bearer(rk)).status_code == 200
    resp = http.get(stripe.url + "/v1/account", headers=bearer(rk), timeout=5)
    assert resp.status_code == 403
    message = resp.json()["error"]["message"]
    assert message.startswith("The provided key '%s' does not have the required permissions" % mask_key(rk))
    assert "'rak_account_read'" in message and rk not in resp.text
    assert http.post(stripe.url + "/_control/keys", json={"key": rk, "permissions": ["charges"]},
                     timeout=5).status_code == 400


def test_rate_limited_answers_are_429_rate_limit(http, stripe):
    """docs.stripe.com/rate-limits: 429 with error code ``rate_limit``; 100 read requests per second in
    live mode, 25 in test mode, per account."""
    from tgops_emulators.stripe import RATE_LIMITS
    assert RATE_LIMITS == {"live": 100, "test": 25}
    assert http.post(stripe.url + "/_control/ratelimit", json={"count": 1}, timeout=5).json() == {"ok": True, "count": 1}
    resp = balance(http, stripe, headers=bearer(KEY))
    assert resp.status_code == 429
    assert resp.json()["error"]["code"] == "rate_limit" and resp.json()["error"]["type"] == "invalid_request_error"
    assert balance(http, stripe, headers=bearer(KEY)).status_code == 200
    stripe.app.windows["test"].limit = 3  # the mechanism, without 25 requests inside one second
    stripe.app.windows["test"].reset()
    codes = [balance(http, stripe, headers=bearer(KEY)).status_code for _attempt in range(4)]
    assert codes == [200, 200, 200, 429]
    assert balance(http, stripe, headers=bearer(LIVE_KEY)).status_code == 200  # live mode has its own budget
