"""The Pinata emulator against the contract in api-contracts.md."""
import base64
import json
import re
import time

import pytest

API_KEY = "0123456789abcdef0123"
SECRET = "secret-0123456789abcdef0123456789abcdef"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJsYWIiOnRydWV9.labsignature"
KEYS = {"pinata_api_key": API_KEY, "pinata_secret_api_key": SECRET}
BEARER = {"Authorization": "Bearer " + JWT}
SEED = {"accounts": [{"name": "tgquiz", "api_key": API_KEY, "secret_api_key": SECRET, "jwt": JWT,
                      "pin_count": 3, "pin_size_total": 1000}]}
KEYS_MUST_BE_STRINGS = {"error": {"reason": "KEYS_MUST_BE_STRINGS",
                                  "details": "pinata_api_key and pinata_secret_api_key must both be strings"}}
INVALID_CREDENTIALS = {"error": {"reason": "INVALID_CREDENTIALS", "details": "Invalid/expired credentials"}}


@pytest.fixture
def pinata(start_emulator):
    return start_emulator("pinata", seed=SEED)


def test_authentication_with_keys_and_with_jwt(http, pinata):
    for headers in (KEYS, BEARER):
        resp = http.get(pinata.url + "/data/testAuthentication", headers=headers, timeout=5)
        assert resp.status_code == 200
        assert resp.json() == {"message": "Congratulations! You are communicating with the Pinata API!"}
        assert resp.headers["X-RateLimit-Limit"] == "30"


@pytest.mark.parametrize("headers", [{}, {"pinata_api_key": API_KEY}, {"pinata_secret_api_key": SECRET}])
def test_missing_credentials_is_400(http, pinata, headers):
    resp = http.get(pinata.url + "/data/testAuthentication", headers=headers, timeout=5)
    assert resp.status_code == 400 and resp.json() == KEYS_MUST_BE_STRINGS


@pytest.mark.parametrize("headers", [
    {"pinata_api_key": API_KEY, "pinata_secret_api_key": "wrong"},
    {"pinata_api_key": "wrong", "pinata_secret_api_key": SECRET},
    {"Authorization": "Bearer not-a-registered-jwt"},
    {"Authorization": "Bearer "},
])
def test_bad_credentials_are_401(http, pinata, headers):
    resp = http.get(pinata.url + "/data/testAuthentication", headers=headers, timeout=5)
    assert resp.status_code == 401 and resp.json() == INVALID_CREDENTIALS


def test_revoking_one_credential_leaves_the_other(http, pinata):
    assert http.post(pinata.url + "/_control/revoke", json={"api_key": API_KEY}, timeout=5).json() == {"ok": True}
    assert http.get(pinata.url + "/data/testAuthentication", headers=KEYS, timeout=5).status_code == 401
    assert http.get(pinata.url + "/data/testAuthentication", headers=BEARER, timeout=5).status_code == 200
    http.post(pinata.url + "/_control/revoke", json={"jwt": JWT}, timeout=5)
    resp = http.get(pinata.url + "/data/testAuthentication", headers=BEARER, timeout=5)
    assert resp.status_code == 401 and resp.json() == INVALID_CREDENTIALS
    assert http.post(pinata.url + "/_control/revoke", json={"jwt": "unknown"}, timeout=5).status_code == 404


def test_pin_json_is_deterministic_and_counts_in_totals(http, pinata):
    totals = http.get(pinata.url + "/data/userPinnedDataTotal", headers=KEYS, timeout=5).json()
    assert totals == {"pin_count": 3, "pin_size_total": 1000, "pin_size_with_replications_total": 2000}
    body = {"pinataContent": {"name": "NFT #1", "attributes": [1, 2]}, "pinataMetadata": {"name": "nft-1.json"}}
    first = http.post(pinata.url + "/pinning/pinJSONToIPFS", json=body, headers=BEARER, timeout=5).json()
    assert re.match(r"^Qm[1-9A-HJ-NP-Za-km-z]{44}$", first["IpfsHash"])
    assert isinstance(first["PinSize"], int) and first["PinSize"] > 0 and first["isDuplicate"] is False
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", first["Timestamp"])
    # The same content with keys in another order is the same pin.
    again = {"pinataContent": {"attributes": [1, 2], "name": "NFT #1"}}
    second = http.post(pinata.url + "/pinning/pinJSONToIPFS", json=again, headers=KEYS, timeout=5).json()
    assert second["IpfsHash"] == first["IpfsHash"] and second["isDuplicate"] is True
    totals = http.get(pinata.url + "/data/userPinnedDataTotal", headers=KEYS, timeout=5).json()
    assert totals["pin_count"] == 4 and totals["pin_size_total"] == 1000 + first["PinSize"]
    pins = http.get(pinata.url + "/_control/pins", params={"account": "tgquiz"}, timeout=5).json()["pins"]
    assert [p["name"] for p in pins] == ["nft-1.json"]


def test_pin_json_rejects_bad_bodies(http, pinata):
    resp = http.post(pinata.url + "/pinning/pinJSONToIPFS", data=b"{nope", headers=dict(KEYS, **{
        "Content-Type": "application/json"}), timeout=5)
    assert resp.status_code == 400 and resp.json()["error"]["reason"] == "INVALID_REQUEST"
    resp = http.post(pinata.url + "/pinning/pinJSONToIPFS", json={"pinataContent": {}}, headers=KEYS, timeout=5)
    assert resp.status_code == 400


def test_unknown_route_is_404(http, pinata):
    assert http.get(pinata.url + "/data/nothing", headers=KEYS, timeout=5).status_code == 404
    assert http.get(pinata.url + "/pinning/pinJSONToIPFS", headers=KEYS, timeout=5).status_code == 404


def assert_rate_limited(resp, limit):
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "60"
    assert resp.headers["X-RateLimit-Limit"] == str(limit)
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert int(resp.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert resp.json()["error"]["reason"] == "RATE_LIMITED" and resp.json()["error"]["details"]


def test_data_endpoints_allow_30_per_minute(http, pinata):
    remaining = []
    for _attempt in range(30):
        resp = http.get(pinata.url + "/data/testAuthentication", headers=KEYS, timeout=5)
        assert resp.status_code == 200
        remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
    assert remaining[0] == 29 and remaining[-1] == 0
    assert_rate_limited(http.get(pinata.url + "/data/userPinnedDataTotal", headers=BEARER, timeout=5), 30)
    # Pinning is limited only by the overall 180/min budget.
    resp = http.post(pinata.url + "/pinning/pinJSONToIPFS", json={"a": 1}, headers=KEYS, timeout=5)
    assert resp.status_code == 200 and resp.headers["X-RateLimit-Limit"] == "180"
    assert http.post(pinata.url + "/_control/ratelimit/reset", timeout=5).json() == {"ok": True}
    assert http.get(pinata.url + "/data/testAuthentication", headers=KEYS, timeout=5).status_code == 200


def test_overall_limit_is_180_per_minute_per_account(http, pinata):
    http.post(pinata.url + "/_control/accounts", json={"name": "ttg", "jwt": "other-jwt"}, timeout=5)
    for i in range(180):
        resp = http.post(pinata.url + "/pinning/pinJSONToIPFS", json={"i": i}, headers=KEYS, timeout=5)
        assert resp.status_code == 200, i
    assert_rate_limited(http.post(pinata.url + "/pinning/pinJSONToIPFS", json={"i": -1}, headers=KEYS, timeout=5), 180)
    # Another account has its own budget.
    resp = http.post(pinata.url + "/pinning/pinJSONToIPFS", json={"i": 0}, headers={"Authorization": "Bearer other-jwt"},
                     timeout=5)
    assert resp.status_code == 200


def test_forced_429(http, pinata):
    assert http.post(pinata.url + "/_control/ratelimit", json={"count": 2}, timeout=5).json() == {"ok": True, "count": 2}
    for _attempt in range(2):
        resp = http.get(pinata.url + "/data/testAuthentication", headers=KEYS, timeout=5)
        assert resp.status_code == 429 and resp.headers["Retry-After"] == "60"
        assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert http.get(pinata.url + "/data/testAuthentication", headers=KEYS, timeout=5).status_code == 200


def test_health_and_log_has_no_secrets(http, pinata, capsys):
    assert http.get(pinata.url + "/_control/health", timeout=5).json() == {"ok": True}
    http.get(pinata.url + "/data/testAuthentication", headers=BEARER, timeout=5)
    err = capsys.readouterr().err
    assert '"GET /data/testAuthentication" 200' in err and JWT not in err


# ----- JWTs that carry their key, scoped keys -----

def jwt_part(text):
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def test_minted_jwt_has_pinatas_structure_and_carries_its_key(http, pinata):
    """A Pinata API-key JWT is header.payload.signature in base64url, HS256, whose payload holds
    ``userInformation``, ``authenticationType: "scopedKey"`` and the key itself (``scopedKeyKey``,
    ``scopedKeySecret``) with ``exp``/``iat`` (docs.pinata.cloud API keys: a key is created as the
    pair API key / secret plus a JWT; decoded real JWTs show these claims)."""
    resp = http.post(pinata.url + "/_control/accounts", json={"name": "tgquiz", "api_key": API_KEY,
                                                              "secret_api_key": SECRET}, timeout=5).json()
    token = resp["key_jwt"]
    header, payload, signature = token.split(".")
    assert re.match(r"^[A-Za-z0-9_-]+$", signature) and "=" not in token
    assert jwt_part(header) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt_part(payload)
    assert claims["authenticationType"] == "scopedKey"
    assert claims["scopedKeyKey"] == API_KEY and claims["scopedKeySecret"] == SECRET
    assert claims["userInformation"]["status"] == "ACTIVE" and claims["userInformation"]["id"]
    assert claims["iat"] <= time.time() < claims["exp"]
    resp = http.get(pinata.url + "/data/testAuthentication", headers={"Authorization": "Bearer " + token}, timeout=5)
    assert resp.status_code == 200
    # Registering the same key again gives the same JWT.
    again = http.post(pinata.url + "/_control/accounts", json={"name": "tgquiz", "api_key": API_KEY,
                                                               "secret_api_key": SECRET}, timeout=5).json()
    assert again["key_jwt"] == token


def test_forged_or_malformed_jwts_are_401(http, pinata):
    token = http.post(pinata.url + "/_control/keys", json={"account": "tgquiz"}, timeout=5).json()["jwt"]
    header, payload, signature = token.split(".")
    claims = jwt_part(payload)
    claims["scopedKeyKey"] = API_KEY  # another key, same signature: a forgery
    forged = "%s.%s.%s" % (header, base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode(),
                           signature)
    for bad in (forged, header + "." + payload + "." + signature[::-1], "a.b.c", header + "." + payload):
        resp = http.get(pinata.url + "/data/testAuthentication", headers={"Authorization": "Bearer " + bad}, timeout=5)
        assert resp.status_code == 401 and resp.json() == INVALID_CREDENTIALS, bad


def test_revoking_a_key_revokes_its_jwt_and_the_other_way_round(http, pinata):
    """On Pinata the JWT and the key pair are one API key: revoking it ends both."""
    first = http.post(pinata.url + "/_control/keys", json={"account": "tgquiz"}, timeout=5).json()
    pair = {"pinata_api_key": first["api_key"], "pinata_secret_api_key": first["secret_api_key"]}
    bearer = {"Authorization": "Bearer " + first["jwt"]}
    assert http.get(pinata.url + "/data/testAuthentication", headers=pair, timeout=5).status_code == 200
    assert http.post(pinata.url + "/_control/revoke", json={"api_key": first["api_key"]}, timeout=5).json()["ok"]
    for headers in (pair, bearer):
        assert http.get(pinata.url + "/data/testAuthentication", headers=headers, timeout=5).status_code == 401
    second = http.post(pinata.url + "/_control/keys", json={"account": "tgquiz"}, timeout=5).json()
    assert http.post(pinata.url + "/_control/revoke", json={"jwt": second["jwt"]}, timeout=5).json()["ok"]
    pair = {"pinata_api_key": second["api_key"], "pinata_secret_api_key": second["secret_api_key"]}
    assert http.get(pinata.url + "/data/testAuthentication", headers=pair, timeout=5).status_code == 401
    # The account's own key pair (and opaque JWT) are untouched.
    assert http.get(pinata.url + "/data/testAuthentication", headers=KEYS, timeout=5).status_code == 200


def test_replacing_an_accounts_key_retires_the_old_one(http, pinata):
    http.post(pinata.url + "/_control/accounts", json={"name": "tgquiz", "api_key": "new-key",
                                                       "secret_api_key": "new-secret"}, timeout=5)
    assert http.get(pinata.url + "/data/testAuthentication", headers=KEYS, timeout=5).status_code == 401
    headers = {"pinata_api_key": "new-key", "pinata_secret_api_key": "new-secret"}
    assert http.get(pinata.url + "/data/testAuthentication", headers=headers, timeout=5).status_code == 200


def test_scoped_key_gets_403_outside_its_scopes(http, pinata):
    """Pinata API keys are admin or scoped to endpoints ({"endpoints": {"pinning": {"pinJSONToIPFS": true}}});
    a scoped key calling another endpoint gets 403, which the official SDK (PinataCloud/pinata
    ``testAuthentication`` and the other calls) raises as AuthenticationError, like 401."""
    scoped = http.post(pinata.url + "/_control/keys", json={
        "account": "tgquiz", "scopes": {"endpoints": {"pinning": {"pinJSONToIPFS": True}}}}, timeout=5).json()
    for headers in ({"pinata_api_key": scoped["api_key"], "pinata_secret_api_key": scoped["secret_api_key"]},
                    {"Authorization": "Bearer " + scoped["jwt"]}):
        assert http.get(pinata.url + "/data/testAuthentication", headers=headers, timeout=5).status_code == 200
        resp = http.get(pinata.url + "/data/userPinnedDataTotal", headers=headers, timeout=5)
        assert resp.status_code == 403 and resp.json()["error"]["reason"] == "NO_SCOPES_FOUND"
        resp = http.post(pinata.url + "/pinning/pinJSONToIPFS", json={"scoped": True}, headers=headers, timeout=5)
        assert resp.status_code == 200
    assert http.post(pinata.url + "/_control/keys", json={"account": "nobody"}, timeout=5).status_code == 404
    assert http.post(pinata.url + "/_control/keys", json={"account": "tgquiz", "scopes": ["x"]},
                     timeout=5).status_code == 400
