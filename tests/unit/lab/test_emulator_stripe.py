"""The Stripe emulator: GET /v1/balance and its authentication errors."""
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
