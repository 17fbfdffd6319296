"""The Telegram Bot API emulator against the contract in api-contracts.md."""
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


TOKEN = "123456789:AAHlabTokenForUnitTests_0123456789ab"
TOKEN2 = "987654321:AAHsecondLabTokenForUnitTests_987654"
BOT_ID = 123456789
SEED = {"bots": [{"token": TOKEN, "username": "tgquiz_lab_bot", "first_name": "TG Quiz"}]}
HOOK_HOST = "hook.lab"
EMULATORS_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "lab", "emulators"))


# Stand-ins for public DNS (the emulator's ``dns`` hook): names a test may use as webhook hosts.
FAKE_DNS = {
    "bot.example.org": ["93.184.215.14"],
    "v6only.example.org": ["2001:4860:4860::8888"],
    "intranet.example.org": ["10.20.30.40"],
}


def fake_dns(host):
    if host not in FAKE_DNS:
        raise OSError("Name or service not known")
    return list(FAKE_DNS[host])


@pytest.fixture
def tg(start_emulator):
    # hook.lab is a lab name (in the resolve map): it resolves to its target without the public-address rules.
    return start_emulator("telegram", seed=json.loads(json.dumps(SEED)), resolve={HOOK_HOST: ("127.0.0.1", None)},
                          cafile=None, dns=fake_dns)


def next_second(tg, bot_id=BOT_ID):
    """As if the 1 s setWebhook limit had run out (tests not about the limit need not sleep)."""
    with tg.app.lock:
        tg.app.bots[bot_id].next_set_webhook_time = 0.0


def call(http, tg, method, token=TOKEN, **kwargs):
    verb = kwargs.pop("verb", "POST")
    return http.request(verb, "%s/bot%s/%s" % (tg.url, token, method), timeout=10, **kwargs)


def assert_error(resp, code, description):
    assert resp.status_code == code
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"ok": False, "error_code": code, "description": description}


# ----- envelopes, tokens, methods -----

def test_getme_returns_bot_user_with_any_method_case_and_verb(http, tg):
    expected = {"id": BOT_ID, "is_bot": True, "first_name": "TG Quiz", "username": "tgquiz_lab_bot",
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
    for method, verb in (("getMe", "GET"), ("GETME", "POST"), ("getme", "GET")):
        resp = call(http, tg, method, verb=verb)
        assert resp.status_code == 200
        assert resp.json() == {"ok": True, "result": expected}


@pytest.mark.parametrize("token", [
    "123456789AAHnocolon",
    "0123456789:AAHleadingzero",
    "18014398509481984:AAHidtoolarge",  # 2**54
    "12a45:AAHnotnumeric",
    ":AAHnoid",
    "123456789:" + "A" * 71,  # 81 characters
])
def test_malformed_token_is_401_invalid_token_specified(http, tg, token):
    assert_error(call(http, tg, "getMe", token=token), 401, "Unauthorized: invalid token specified")


def test_unknown_well_formed_token_is_401_unauthorized(http, tg):
    """api-contracts.md (Telegram): a well-formed token that Telegram rejects (mistyped, revoked,
    nonexistent bot) gets 401 ``Unauthorized``; telegram-bot-api maintainers: "the only way to receive
    401 is a wrong bot token". 404 ``Not Found`` is only for a path that is not /bot<token>/<method>."""
    assert_error(call(http, tg, "getMe", token="111111111:AAHwellFormedButUnknownToken_000000"), 401, "Unauthorized")
    assert_error(call(http, tg, "setWebhook", token="111111111:AAHwellFormedButUnknownToken_000000",
                      data={"url": "https://hook.lab/tg"}), 401, "Unauthorized")


def test_wrong_prefix_and_unknown_method_are_404(http, tg):
    assert_error(http.get("%s/botbot%s/getMe" % (tg.url, TOKEN), timeout=5), 404, "Not Found")
    assert_error(http.get("%s/%s/getMe" % (tg.url, TOKEN), timeout=5), 404, "Not Found")
    assert_error(http.get("%s/bot%s" % (tg.url, TOKEN), timeout=5), 404, "Not Found")
    assert_error(call(http, tg, "getChatMemberCountz"), 404, "Not Found")
    # A URL-quoted ':' is still the same token.
    assert http.get("%s/bot%s/getMe" % (tg.url, TOKEN.replace(":", "%3A")), timeout=5).json()["ok"] is True


def test_revoked_token_is_401_unauthorized_and_new_token_works(http, tg):
    assert http.post(tg.url + "/_control/bots/%d/revoke" % BOT_ID, timeout=5).json()["ok"] is True
    assert_error(call(http, tg, "getMe"), 401, "Unauthorized")
    new_token = "123456789:AAHregeneratedLabTokenForUnitTests_1"
    resp = http.post(tg.url + "/_control/bots", json={"token": new_token}, timeout=5)
    assert resp.json()["bot"]["revoked"] is False
    assert call(http, tg, "getMe", token=new_token).json()["result"]["id"] == BOT_ID
    assert_error(call(http, tg, "getMe"), 401, "Unauthorized")


def test_register_is_idempotent_and_list_omits_tokens(http, tg):
    for _attempt in range(2):
        resp = http.post(tg.url + "/_control/bots", json={"token": TOKEN2, "username": "ttg_bot", "first_name": "TTG"},
                         timeout=5)
        assert resp.status_code == 200
    bots = http.get(tg.url + "/_control/bots", timeout=5).json()["bots"]
    assert sorted(b["id"] for b in bots) == [BOT_ID, 987654321]
    assert TOKEN not in json.dumps(bots) and TOKEN2 not in json.dumps(bots)
    assert http.post(tg.url + "/_control/bots", json={"token": "bad"}, timeout=5).status_code == 400


def test_forced_429_has_description_parameters_and_header(http, tg):
    resp = http.post(tg.url + "/_control/bots/%d/ratelimit" % BOT_ID, json={"count": 2, "retry_after": 37}, timeout=5)
    assert resp.json() == {"ok": True, "count": 2, "retry_after": 37}
    for _attempt in range(2):
        resp = call(http, tg, "getMe")
        assert resp.status_code == 429
        assert resp.headers["Retry-After"] == "37"
        assert resp.json() == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 37",
                               "parameters": {"retry_after": 37}}
    assert call(http, tg, "getMe").status_code == 200


def test_unparsable_json_body_is_400(http, tg):
    resp = call(http, tg, "sendMessage", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(resp, 400, "Bad Request: can't parse JSON object")


# ----- setWebhook / deleteWebhook / getWebhookInfo -----

@pytest.mark.parametrize("params, description", [
    ({"url": "http://hook.lab/tg"}, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"),
    ({"url": "https://hook.lab:8080/tg"},
     "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"),
    ({"url": "ftp://hook.lab/tg"}, "Bad Request: invalid webhook URL specified"),
    ({"url": "https://hook.lab:99999/tg"}, "Bad Request: invalid webhook URL specified"),
    ({"url": "https:///tg"}, "Bad Request: invalid webhook URL specified"),
    ({"url": "https://hook .lab/tg"}, "Bad Request: invalid webhook URL specified"),
    ({"url": "https://hook.lab/tg", "secret_token": "a" * 257}, "Bad Request: secret token is too long"),
    ({"url": "https://hook.lab/tg", "secret_token": "has space"},
     "Bad Request: secret token contains unallowed characters"),
    ({"url": "https://hook.lab/tg", "secret_token": "sl/ash"},
     "Bad Request: secret token contains unallowed characters"),
    ({"url": "https://hook.lab/tg", "ip_address": "300.1.2.3"}, "Bad Request: bad webhook: Invalid IP address specified"),
    ({"url": "https://hook.lab/tg", "ip_address": "not-an-ip"}, "Bad Request: bad webhook: Invalid IP address specified"),
])
def test_setwebhook_validation_errors(http, tg, params, description):
    assert_error(call(http, tg, "setWebhook", data=params), 400, description)


@pytest.mark.parametrize("params, description", [
    # WebhookActor::check_ip_address (tdlib/telegram-bot-api): IPv4 only, and none of tdlib's
    # IPAddress::is_reserved blocks, for a pinned ip_address as for the address the host resolves to.
    ({"url": "https://hook.lab/tg", "ip_address": "2001:4860:4860::8888"},
     "Bad Request: bad webhook: IPv6-only addresses are not allowed"),
    ({"url": "https://hook.lab/tg", "ip_address": "10.1.2.3"}, "Bad Request: bad webhook: IP address 10.1.2.3 is reserved"),
    ({"url": "https://hook.lab/tg", "ip_address": "203.0.113.7"},
     "Bad Request: bad webhook: IP address 203.0.113.7 is reserved"),
    ({"url": "https://192.168.1.5/tg"}, "Bad Request: bad webhook: IP address 192.168.1.5 is reserved"),
    ({"url": "https://127.0.0.1:8443/tg"}, "Bad Request: bad webhook: IP address 127.0.0.1 is reserved"),
    ({"url": "https://[2001:4860:4860::8888]/tg"}, "Bad Request: bad webhook: IPv6-only addresses are not allowed"),
    ({"url": "https://v6only.example.org/tg"}, "Bad Request: bad webhook: IPv6-only addresses are not allowed"),
    ({"url": "https://intranet.example.org/tg"}, "Bad Request: bad webhook: IP address 10.20.30.40 is reserved"),
    # WebhookActor::on_resolved_ip_address: a host that does not resolve is refused at set time.
    ({"url": "https://nowhere.example.org/tg"},
     "Bad Request: bad webhook: Failed to resolve host: Name or service not known"),
])
def test_setwebhook_refuses_ipv6_reserved_and_unresolvable_addresses(http, tg, params, description):
    """telegram-bot-api WebhookActor.cpp ``check_ip_address`` / ``on_resolved_ip_address``, reported by
    ``Client::on_webhook_closed`` as ``Bad Request: bad webhook: <reason>``."""
    assert_error(call(http, tg, "setWebhook", data=params), 400, description)
    assert call(http, tg, "getWebhookInfo").json()["result"]["url"] == ""


def test_lab_names_and_public_names_resolve_and_report_their_address(http, start_emulator):
    """getWebhookInfo.ip_address (telegram-bot-api ``JsonWebhookInfo``) is present whenever a URL is set:
    the verified address, else ``<unknown>``. Lab names resolve through TELEGRAM_EMULATOR_RESOLVE."""
    tg = start_emulator("telegram", seed=json.loads(json.dumps(SEED)), dns=fake_dns, resolve={
        "tgquiz.lab": ("172.18.0.5", 443), "toogoodtogo.lab": ("ttg-nginx", None)})
    call(http, tg, "setWebhook", data={"url": "https://tgquiz.lab/tg"})
    assert call(http, tg, "getWebhookInfo").json()["result"]["ip_address"] == "172.18.0.5"
    next_second(tg)
    # The target is a name the emulator cannot resolve now: the webhook is still set, address unknown.
    call(http, tg, "setWebhook", data={"url": "https://toogoodtogo.lab/tg"})
    info = call(http, tg, "getWebhookInfo").json()["result"]
    assert info["url"] == "https://toogoodtogo.lab/tg" and info["ip_address"] == "<unknown>"
    next_second(tg)
    call(http, tg, "setWebhook", data={"url": "https://bot.example.org:8443/tg"})
    assert call(http, tg, "getWebhookInfo").json()["result"]["ip_address"] == "93.184.215.14"


def test_rejected_setwebhook_leaves_no_webhook(http, tg):
    """telegram-bot-api ``Client::process_set_webhook_query``: a change closes the current webhook first
    (``on_webhook_closed`` clears url and settings), then ``do_set_webhook`` validates the new one. A
    refused change therefore leaves the bot with NO webhook; the pending queue stays."""
    assert call(http, tg, "setWebhook", data={"url": "https://hook.lab/tg"}).json()["description"] == "Webhook was set"
    http.post(tg.url + "/_control/bots/%d/updates" % BOT_ID, json={"message": {"text": "hi"}}, timeout=5)
    for bad in ({"url": "https://hook.lab:8080/tg"}, {"url": "https://hook.lab/tg", "secret_token": "no spaces"},
                {"url": "ftp://hook.lab/tg"}, {"url": "https://hook.lab/tg", "ip_address": "10.0.0.1"}):
        next_second(tg)
        assert call(http, tg, "setWebhook", data={"url": "https://hook.lab/tg"}).json()["ok"] is True
        next_second(tg)
        assert call(http, tg, "setWebhook", data=bad).status_code == 400
        info = call(http, tg, "getWebhookInfo").json()["result"]
        assert info == {"url": "", "has_custom_certificate": False, "pending_update_count": 1}, bad
        # With no webhook, getUpdates works again: the bot is in polling mode now.
        assert call(http, tg, "getUpdates", data={"timeout": "0"}).json()["ok"] is True


def test_one_second_limit_on_every_setwebhook_with_url_never_on_delete(http, tg):
    """telegram-bot-api ``process_set_webhook_query``: ``next_allowed_set_webhook_time_`` is checked and
    moved on for every call with a non-empty url, before the no-op comparison (so "Webhook is already
    set" calls and refused calls count); deleteWebhook and an empty url are not limited."""
    params = {"url": "https://hook.lab/tg"}
    assert call(http, tg, "setWebhook", data=params).json()["description"] == "Webhook was set"
    assert call(http, tg, "deleteWebhook").json()["description"] == "Webhook was deleted"
    assert call(http, tg, "deleteWebhook").json()["description"] == "Webhook is already deleted"
    assert call(http, tg, "setWebhook", data={"url": ""}).json()["description"] == "Webhook is already deleted"
    assert call(http, tg, "setWebhook", data=params).status_code == 429
    time.sleep(1.05)
    assert call(http, tg, "setWebhook", data=params).json()["description"] == "Webhook was set"
    time.sleep(1.05)
    assert call(http, tg, "setWebhook", data=params).json()["description"] == "Webhook is already set"
    resp = call(http, tg, "setWebhook", data=params)  # a no-op within the second is limited too
    assert resp.status_code == 429 and resp.json()["parameters"] == {"retry_after": 1}
    time.sleep(1.05)
    assert call(http, tg, "setWebhook", data={"url": "https://hook.lab:8080/tg"}).status_code == 400
    assert call(http, tg, "setWebhook", data=params).status_code == 429  # a refused call counts as well


def test_only_allowed_updates_changed_is_already_set_but_applied(http, tg):
    """telegram-bot-api ``process_set_webhook_query``: allowed_updates is not part of the no-op comparison;
    ``update_allowed_update_types`` applies it and the answer is still "Webhook is already set".
    ``get_allowed_update_types``: unparsable JSON, a non-array or a non-string element is ignored (the
    previous setting stays), names are lowercased, unknown names are dropped."""
    url = "https://hook.lab/tg"
    assert call(http, tg, "setWebhook", data={"url": url}).json()["description"] == "Webhook was set"
    for text, expected in (('["Message", "CALLBACK_QUERY", "no_such_type"]', ["message", "callback_query"]),
                           ("message", ["message", "callback_query"]),
                           ('{"message": 1}', ["message", "callback_query"]),
                           ('["message", 5]', ["message", "callback_query"]),
                           ('["edited_message"]', ["edited_message"]),
                           ("[]", None)):
        next_second(tg)
        resp = call(http, tg, "setWebhook", data={"url": url, "allowed_updates": text})
        assert resp.json() == {"ok": True, "result": True, "description": "Webhook is already set"}, text
        info = call(http, tg, "getWebhookInfo").json()["result"]
        assert info.get("allowed_updates") == expected, text


def test_changing_setwebhook_clears_last_error_noop_keeps_it(http, start_emulator):
    """telegram-bot-api: ``on_webhook_closed`` and ``finish_set_webhook`` reset ``last_webhook_error_date_``,
    so any setWebhook that changes something (same URL included) clears last_error_*; a no-op keeps it."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    tg = start_emulator("telegram", seed=json.loads(json.dumps(SEED)), resolve={HOOK_HOST: ("127.0.0.1", closed_port)},
                        dns=fake_dns)
    url = "https://%s/tg" % HOOK_HOST
    call(http, tg, "setWebhook", data={"url": url})
    assert deliver(http, tg, {"message": {"text": "x"}}).json()["error"] == "Connection refused"
    next_second(tg)
    assert call(http, tg, "setWebhook", data={"url": url}).json()["description"] == "Webhook is already set"
    assert call(http, tg, "getWebhookInfo").json()["result"]["last_error_message"] == "Connection refused"
    next_second(tg)
    assert call(http, tg, "setWebhook", data={"url": url, "max_connections": "5"}).json()["description"] == \
        "Webhook was set"
    info = call(http, tg, "getWebhookInfo").json()["result"]
    assert "last_error_date" not in info and "last_error_message" not in info
    assert info["pending_update_count"] == 1


@pytest.mark.parametrize("value, dropped", [
    ("true", True), ("yes", True), ("1", True), (" YES ", True), ("True", True),
    ("false", False), ("on", False), ("y", False), ("", False),
])
def test_drop_pending_updates_parsed_like_to_bool(http, tg, value, dropped):
    """telegram-bot-api ``Client::to_bool``: lowercased, trimmed, then "true", "yes" or "1"."""
    http.post(tg.url + "/_control/bots/%d/updates" % BOT_ID, json={"message": {"text": "hi"}}, timeout=5)
    call(http, tg, "deleteWebhook", data={"drop_pending_updates": value})
    assert call(http, tg, "getWebhookInfo").json()["result"]["pending_update_count"] == (0 if dropped else 1)


def test_setwebhook_set_then_already_set_and_429_within_a_second(http, tg):
    params = {"url": "https://hook.lab/tg", "secret_token": "s3cr3t_-A"}
    resp = call(http, tg, "setWebhook", data=params)
    assert resp.json() == {"ok": True, "result": True, "description": "Webhook was set"}
    resp = call(http, tg, "setWebhook", data=params)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "1"
    assert resp.json()["parameters"] == {"retry_after": 1}
    assert resp.json()["description"] == "Too Many Requests: retry after 1"
    time.sleep(1.05)
    resp = call(http, tg, "setWebhook", json=params)  # same settings, as JSON this time
    assert resp.json() == {"ok": True, "result": True, "description": "Webhook is already set"}
    time.sleep(1.05)
    # The secret is compared too, though getWebhookInfo never shows it.
    resp = call(http, tg, "setWebhook", params={"url": "https://hook.lab/tg", "secret_token": "other"})
    assert resp.json()["description"] == "Webhook was set"
    info = call(http, tg, "getWebhookInfo").json()["result"]
    assert "other" not in json.dumps(info) and "secret" not in json.dumps(info)


def test_webhookinfo_fields_defaults_and_clamping(http, tg):
    info = call(http, tg, "getWebhookInfo", verb="GET").json()
    assert info == {"ok": True, "result": {"url": "", "has_custom_certificate": False, "pending_update_count": 0}}
    call(http, tg, "setWebhook",
         data={"url": "https://hook.lab:8443/tg", "max_connections": "500", "ip_address": "93.184.215.14"})
    assert call(http, tg, "getWebhookInfo").json()["result"] == {
        "url": "https://hook.lab:8443/tg", "has_custom_certificate": False, "pending_update_count": 0,
        "ip_address": "93.184.215.14", "max_connections": 100}
    next_second(tg)
    call(http, tg, "setWebhook", data={"url": "https://hook.lab:8443/tg", "max_connections": "0"})
    info = call(http, tg, "getWebhookInfo").json()["result"]
    # No pinned address: the one hook.lab resolves to (the resolve map's target) is reported.
    assert info["max_connections"] == 1 and info["ip_address"] == "127.0.0.1"
    next_second(tg)
    call(http, tg, "setWebhook", data={"url": "https://hook.lab:8443/tg"})
    assert call(http, tg, "getWebhookInfo").json()["result"]["max_connections"] == 40


def test_allowed_updates_omitted_keeps_empty_list_resets(http, tg):
    call(http, tg, "setWebhook", json={"url": "https://hook.lab/tg", "allowed_updates": ["message", "chat_member"]})
    assert call(http, tg, "getWebhookInfo").json()["result"]["allowed_updates"] == ["message", "chat_member"]
    next_second(tg)
    call(http, tg, "setWebhook", data={"url": "https://hook.lab/tg", "max_connections": "10"})
    assert call(http, tg, "getWebhookInfo").json()["result"]["allowed_updates"] == ["message", "chat_member"]
    next_second(tg)
    # Form encoding carries the array as JSON text.
    call(http, tg, "setWebhook", data={"url": "https://hook.lab/tg", "max_connections": "10", "allowed_updates": "[]"})
    assert "allowed_updates" not in call(http, tg, "getWebhookInfo").json()["result"]


def test_a_url_without_a_scheme_is_https(http, tg):
    """do_set_webhook parses the URL with td::parse_url(url, HttpUrl::Protocol::Https): no scheme is HTTPS, and
    getWebhookInfo gives the URL back as it was set."""
    resp = call(http, tg, "setWebhook", data={"url": "hook.lab/tg"})
    assert resp.json() == {"ok": True, "result": True, "description": "Webhook was set"}
    assert call(http, tg, "getWebhookInfo").json()["result"]["url"] == "hook.lab/tg"
    next_second(tg)
    assert_error(call(http, tg, "setWebhook", data={"url": "hook.lab:8080/tg"}), 400,
                 "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def test_multipart_certificate_upload_sets_custom_certificate(http, tg, lab_ca):
    pem = (lab_ca / "srv.pem").read_bytes()
    resp = call(http, tg, "setWebhook", data={"url": "https://hook.lab:88/tg"},
                files={"certificate": ("cert.pem", pem, "application/x-pem-file")})
    assert resp.json()["description"] == "Webhook was set"
    info = call(http, tg, "getWebhookInfo").json()["result"]
    assert info["has_custom_certificate"] is True and info["url"] == "https://hook.lab:88/tg"


@pytest.mark.parametrize("certificate, description", [
    (b"-----BEGIN CERTIFICATE-----\n", "Bad Request: bad webhook: Failed to set custom certificate file"),
    (b"not a certificate at all", "Bad Request: bad webhook: Failed to set custom certificate file"),
    (b"\x30\x82\x01\x0a" + b"\x00" * 64, "Bad Request: bad webhook: Failed to set custom certificate file"),
    (b"A" * ((3 << 20) + 1), "Bad Request: certificate size is too big (3145729 bytes)"),
])
def test_a_certificate_openssl_refuses_fails_and_the_old_webhook_is_gone(http, tg, certificate, description):
    """The old webhook is closed before do_set_webhook looks at the new one: a certificate that is too big
    (Client::MAX_CERTIFICATE_FILE_SIZE, 3 MiB) or that SslCtx::create cannot load (WebhookActor) is refused with
    400, and the bot is left with no webhook at all."""
    call(http, tg, "setWebhook", data={"url": "https://hook.lab/old"})
    next_second(tg)
    resp = call(http, tg, "setWebhook", data={"url": "https://hook.lab:88/tg"},
                files={"certificate": ("cert.pem", certificate, "application/x-pem-file")})
    assert_error(resp, 400, description)
    info = call(http, tg, "getWebhookInfo").json()["result"]
    assert info["url"] == "" and info["has_custom_certificate"] is False


def test_allowed_updates_knows_the_current_update_types_in_the_servers_order(http, tg):
    """Client::UpdateType of telegram-bot-api 10.0: managed_bot and guest_message are update types; getWebhookInfo
    lists the chosen ones in the server's order, without custom_event and custom_query (accepted, never listed)."""
    call(http, tg, "setWebhook", json={"url": "https://hook.lab/tg", "allowed_updates": [
        "guest_message", "managed_bot", "business_message", "message", "custom_event"]})
    assert call(http, tg, "getWebhookInfo").json()["result"]["allowed_updates"] == [
        "message", "business_message", "managed_bot", "guest_message"]


def test_deletewebhook_descriptions_and_drop_pending(http, tg):
    assert call(http, tg, "deleteWebhook").json() == {"ok": True, "result": True,
                                                      "description": "Webhook is already deleted"}
    call(http, tg, "setWebhook", data={"url": "https://hook.lab/tg"})
    http.post(tg.url + "/_control/bots/%d/updates" % BOT_ID, json={"message": {"text": "hi"}}, timeout=5)
    assert call(http, tg, "getWebhookInfo").json()["result"]["pending_update_count"] == 1
    next_second(tg)
    resp = call(http, tg, "deleteWebhook", params={"drop_pending_updates": "true"})
    assert resp.json() == {"ok": True, "result": True, "description": "Webhook was deleted"}
    assert call(http, tg, "getWebhookInfo").json()["result"] == {
        "url": "", "has_custom_certificate": False, "pending_update_count": 0}
    next_second(tg)
    # An empty url on setWebhook removes the webhook too.
    assert call(http, tg, "setWebhook", data={"url": ""}).json()["description"] == "Webhook is already deleted"


# ----- getUpdates -----

def test_getupdates_conflicts_with_a_webhook(http, tg):
    call(http, tg, "setWebhook", data={"url": "https://hook.lab/tg"})
    assert_error(call(http, tg, "getUpdates"), 409,
                 "Conflict: can't use getUpdates method while webhook is active; "
                 "use deleteWebhook to delete the webhook first")


def test_getupdates_offset_limit_and_long_poll(http, tg):
    ids = []
    for text in ("a", "b", "c"):
        resp = http.post(tg.url + "/_control/bots/%d/updates" % BOT_ID, json={"update": {"message": {"text": text}}},
                         timeout=5)
        ids.append(resp.json()["update_id"])
    assert ids == [1, 2, 3]
    result = call(http, tg, "getUpdates", params={"limit": "2"}).json()["result"]
    assert [u["update_id"] for u in result] == [1, 2]
    result = call(http, tg, "getUpdates", json={"offset": 3}).json()["result"]
    assert [u["message"]["text"] for u in result] == ["c"]
    assert call(http, tg, "getWebhookInfo").json()["result"]["pending_update_count"] == 1
    assert call(http, tg, "getUpdates", data={"offset": "4", "timeout": "0"}).json()["result"] == []

    def enqueue_later():
        time.sleep(0.3)
        http.post(tg.url + "/_control/bots/%d/updates" % BOT_ID, json={"message": {"text": "late"}}, timeout=5)

    worker = threading.Thread(target=enqueue_later)
    worker.start()
    started = time.monotonic()
    result = call(http, tg, "getUpdates", data={"offset": "4", "timeout": "5"}).json()["result"]
    worker.join(timeout=5)
    assert 0.2 < time.monotonic() - started < 4
    assert [u["message"]["text"] for u in result] == ["late"]
    started = time.monotonic()
    assert call(http, tg, "getUpdates", data={"offset": "5", "timeout": "1"}).json()["result"] == []
    assert 0.9 < time.monotonic() - started < 4


def test_a_second_getupdates_terminates_the_first(http, tg):
    answers = []
    worker = threading.Thread(target=lambda: answers.append(call(http, tg, "getUpdates", data={"timeout": "5"})))
    worker.start()
    deadline = time.monotonic() + 5
    while tg.app.bots[BOT_ID].poll_generation == 0 and time.monotonic() < deadline:
        time.sleep(0.02)  # until the first long-poll is waiting
    assert call(http, tg, "getUpdates", data={"timeout": "0"}).json() == {"ok": True, "result": []}
    worker.join(timeout=6)
    assert_error(answers[0], 409, "Conflict: terminated by other getUpdates request; "
                                  "make sure that only one bot instance is running")


# ----- sendMessage, logOut, close -----

def test_sendmessage_returns_message_and_is_recorded(http, tg):
    # A user who writes to the bot makes their private chat known to it.
    http.post(tg.url + "/_control/bots/%d/updates" % BOT_ID, timeout=5, json={"message": {
        "message_id": 1, "date": 1, "text": "/start", "chat": {"id": 4242, "type": "private", "first_name": "Ann"}}})
    resp = call(http, tg, "sendMessage", json={"chat_id": 4242, "text": "deploy ok", "parse_mode": "HTML"})
    message = resp.json()["result"]
    assert message["message_id"] == 1 and message["chat"] == {"id": 4242, "first_name": "Ann", "type": "private"}
    assert message["from"]["id"] == BOT_ID and message["text"] == "deploy ok" and isinstance(message["date"], int)
    sent = http.get(tg.url + "/_control/bots/%d/sent" % BOT_ID, timeout=5).json()["messages"]
    assert [(m["chat_id"], m["text"], m["parse_mode"]) for m in sent] == [("4242", "deploy ok", "HTML")]
    assert_error(call(http, tg, "sendMessage", data={"text": "x"}), 400, "Bad Request: chat_id is empty")
    assert_error(call(http, tg, "sendMessage", data={"chat_id": "1"}), 400, "Bad Request: message text is empty")
    assert_error(call(http, tg, "sendMessage", data={"chat_id": "nobody", "text": "x"}), 400,
                 "Bad Request: chat not found")


def test_a_chat_the_bot_does_not_know_or_is_not_in_is_refused(http, tg):
    """Client::check_chat_access: an unknown chat (a wrong incident channel id) is 400 and nothing is sent; a group,
    supergroup or channel the bot left or was kicked from is 403."""
    for chat_id in ("4243", "-1001000000099", "@no_such_channel"):
        assert_error(call(http, tg, "sendMessage", data={"chat_id": chat_id, "text": "x"}), 400,
                     "Bad Request: chat not found")
    chats = [{"id": -1001000000001, "type": "supergroup", "title": "Incidents", "username": "incidents_lab"},
             {"id": -1001000000002, "type": "channel", "title": "Status", "member": False},
             {"id": -1001000000003, "type": "supergroup", "title": "Old", "kicked": True},
             {"id": -100, "type": "group", "title": "Ops", "member": False}]
    assert http.post(tg.url + "/_control/bots/%d/chats" % BOT_ID, json={"chats": chats}, timeout=5).json()["ok"]
    message = call(http, tg, "sendMessage", data={"chat_id": "-1001000000001", "text": "P0 acknowledged"}).json()
    assert message["result"]["chat"] == {"id": -1001000000001, "type": "supergroup", "title": "Incidents",
                                         "username": "incidents_lab"}
    assert call(http, tg, "sendMessage", data={"chat_id": "@Incidents_Lab", "text": "x"}).json()["ok"]
    for chat_id, description in (("-1001000000002", "Forbidden: bot is not a member of the channel chat"),
                                 ("-1001000000003", "Forbidden: bot was kicked from the supergroup chat"),
                                 ("-100", "Forbidden: bot is not a member of the group chat")):
        assert_error(call(http, tg, "sendMessage", data={"chat_id": chat_id, "text": "x"}), 403, description)
    sent = http.get(tg.url + "/_control/bots/%d/sent" % BOT_ID, timeout=5).json()["messages"]
    assert [m["chat_id"] for m in sent] == ["-1001000000001", "@Incidents_Lab"]
    assert http.post(tg.url + "/_control/bots/%d/chats" % BOT_ID, json={"id": 5, "type": "room"},
                     timeout=5).status_code == 400


def test_blocked_chat_is_403(http, start_emulator):
    tg = start_emulator("telegram", seed={"bots": [{"token": TOKEN, "blocked_chats": [77],
                                                    "chats": [{"id": 77, "type": "private"}]}]}, resolve={})
    assert_error(call(http, tg, "sendMessage", data={"chat_id": "77", "text": "x"}), 403,
                 "Forbidden: bot was blocked by the user")


def test_logout_and_close_return_true(http, tg):
    assert call(http, tg, "logOut").json() == {"ok": True, "result": True}
    assert call(http, tg, "close").json() == {"ok": True, "result": True}


# ----- webhook delivery over real TLS -----

@pytest.fixture(scope="module")
def lab_ca(tmp_path_factory):
    """A throwaway CA and a server certificate for hook.lab, made with the openssl CLI."""
    d = tmp_path_factory.mktemp("ca")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=30)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=tgops unit-test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=" + HOOK_HOST)
    (d / "ext.cnf").write_text("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n"
                               "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n" % HOOK_HOST)
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem",
        "-days", "2", "-extfile", "ext.cnf")
    return d


class WebhookTarget:
    """A local HTTPS server standing in for the bot's webhook; answers ``status`` and records requests."""

    def __init__(self, ca_dir):
        self.status = 200
        self.requests = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(target.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(ca_dir / "srv.pem"), str(ca_dir / "srv.key"))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_env(lab_ca, monkeypatch):
    target = WebhookTarget(lab_ca)
    # The webhook URL names hook.lab:8443; the emulator connects to the local target instead.
    monkeypatch.setenv("TELEGRAM_EMULATOR_RESOLVE", "%s=127.0.0.1:%d" % (HOOK_HOST, target.port))
    monkeypatch.setenv("TELEGRAM_EMULATOR_CAFILE", str(lab_ca / "ca.pem"))
    yield target
    target.stop()


def deliver(http, tg, body):
    return http.post(tg.url + "/_control/bots/%d/deliver" % BOT_ID, json=body, timeout=15)


def test_delivery_sends_secret_header_only_when_set(http, start_emulator, hook_env):
    tg = start_emulator("telegram", seed=json.loads(json.dumps(SEED)))
    call(http, tg, "setWebhook", data={"url": "https://%s:8443/tg/hook?x=1" % HOOK_HOST, "secret_token": "Lab_s3cret"})
    resp = deliver(http, tg, {"update": {"message": {"text": "hello"}}})
    assert resp.json() == {"ok": True, "delivered": True, "status": 200, "error": None, "update_ids": [1],
                           "pending_update_count": 0}
    got = hook_env.requests[-1]
    assert got["path"] == "/tg/hook?x=1"
    assert got["headers"]["X-Telegram-Bot-Api-Secret-Token"] == "Lab_s3cret"
    assert got["headers"]["Host"] == "%s:8443" % HOOK_HOST
    assert got["body"] == {"update_id": 1, "message": {"text": "hello"}}
    next_second(tg)
    call(http, tg, "setWebhook", data={"url": "https://%s:8443/tg/hook?x=1" % HOOK_HOST})
    assert deliver(http, tg, {"message": {"text": "no secret"}}).json()["delivered"] is True
    got = hook_env.requests[-1]
    assert "X-Telegram-Bot-Api-Secret-Token" not in got["headers"]
    assert got["body"]["update_id"] == 2


def test_failed_delivery_piles_up_pending_and_sets_last_error(http, start_emulator, hook_env):
    tg = start_emulator("telegram", seed=json.loads(json.dumps(SEED)))
    call(http, tg, "setWebhook", data={"url": "https://%s:8443/tg" % HOOK_HOST})
    hook_env.status = 500
    before = int(time.time())
    for text in ("one", "two"):
        resp = deliver(http, tg, {"update": {"message": {"text": text}}}).json()
        assert resp["delivered"] is False and resp["status"] == 500
        assert resp["error"] == "Wrong response from the webhook: 500 Internal Server Error"
    info = call(http, tg, "getWebhookInfo").json()["result"]
    assert info["pending_update_count"] == 2
    assert info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    assert before <= info["last_error_date"] <= int(time.time())
    # Fixed webhook: an empty deliver body retries what is pending, oldest first.
    hook_env.status = 200
    resp = deliver(http, tg, {}).json()
    assert resp["delivered"] is True and resp["update_ids"] == [1, 2] and resp["pending_update_count"] == 0
    assert [r["body"]["message"]["text"] for r in hook_env.requests[-2:]] == ["one", "two"]
    info = call(http, tg, "getWebhookInfo").json()["result"]
    assert info["pending_update_count"] == 0 and "last_error_date" in info


def test_connection_refused_and_bad_certificate(http, start_emulator, lab_ca, monkeypatch):
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("TELEGRAM_EMULATOR_RESOLVE", "%s=127.0.0.1:%d" % (HOOK_HOST, closed_port))
    monkeypatch.setenv("TELEGRAM_EMULATOR_CAFILE", str(lab_ca / "ca.pem"))
    tg = start_emulator("telegram", seed=json.loads(json.dumps(SEED)))
    call(http, tg, "setWebhook", data={"url": "https://%s/tg" % HOOK_HOST})
    resp = deliver(http, tg, {"message": {"text": "x"}}).json()
    assert resp["delivered"] is False and resp["error"] == "Connection refused" and resp["status"] is None
    info = call(http, tg, "getWebhookInfo").json()["result"]
    assert info["last_error_message"] == "Connection refused" and info["pending_update_count"] == 1

    # The system trust store does not know the lab CA: TLS verification must fail.
    target = WebhookTarget(lab_ca)
    try:
        monkeypatch.setenv("TELEGRAM_EMULATOR_RESOLVE", "%s=127.0.0.1:%d" % (HOOK_HOST, target.port))
        monkeypatch.delenv("TELEGRAM_EMULATOR_CAFILE")
        tg2 = start_emulator("telegram", seed=json.loads(json.dumps(SEED)))
        call(http, tg2, "setWebhook", data={"url": "https://%s/tg" % HOOK_HOST})
        resp = deliver(http, tg2, {"message": {"text": "x"}}).json()
        assert resp["delivered"] is False and resp["error"].startswith("SSL error")
        assert target.requests == []
    finally:
        target.stop()


def test_deliver_without_webhook_is_409(http, tg):
    resp = deliver(http, tg, {"message": {"text": "x"}})
    assert resp.status_code == 409 and resp.json()["ok"] is False


# ----- control API, logging, CLI -----

def test_control_health_reset_and_unknown_route(http, tg):
    assert http.get(tg.url + "/_control/health", timeout=5).json() == {"ok": True}
    http.post(tg.url + "/_control/bots", json={"token": TOKEN2}, timeout=5)
    call(http, tg, "setWebhook", data={"url": "https://hook.lab/tg"})
    assert http.post(tg.url + "/_control/reset", timeout=5).json() == {"ok": True}
    assert [b["id"] for b in http.get(tg.url + "/_control/bots", timeout=5).json()["bots"]] == [BOT_ID]
    assert call(http, tg, "getWebhookInfo").json()["result"]["url"] == ""
    assert http.get(tg.url + "/_control/nope", timeout=5).status_code == 404
    assert http.post(tg.url + "/_control/bots/5/revoke", timeout=5).status_code == 404


def test_request_log_masks_the_token(http, tg, capsys):
    call(http, tg, "setWebhook", params={"url": "https://hook.lab/tg", "secret_token": "TopSecretValue"})
    call(http, tg, "getMe", token="123456789:WrongSecretValue")
    http.get(tg.url + "/123456789:NoPrefixSecret/getMe", timeout=5)
    http.get(tg.url + "/botbot123456789:DoubledSecret/getMe", timeout=5)
    err = capsys.readouterr().err
    assert "/bot123456789:***/setWebhook" in err and "secret_token=***" in err
    for secret in (TOKEN.split(":")[1], "TopSecretValue", "WrongSecretValue", "NoPrefixSecret", "DoubledSecret"):
        assert secret not in err


def test_cli_runs_one_service_with_env_seed(http):
    env = dict(os.environ, PYTHONPATH=EMULATORS_DIR, EMULATOR_SEED=json.dumps(SEED))
    proc = subprocess.Popen([sys.executable, "-m", "tgops_emulators", "telegram", "--port", "0", "--bind", "127.0.0.1"],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "telegram emulator listening on 127.0.0.1:" in line
        url = "http://127.0.0.1:%s" % line.rsplit(":", 1)[1].strip()
        assert http.get(url + "/_control/health", timeout=5).json() == {"ok": True}
        assert http.get("%s/bot%s/getMe" % (url, TOKEN), timeout=5).json()["result"]["id"] == BOT_ID
    finally:
        proc.terminate()  # SIGTERM, as docker stop sends
        assert proc.wait(timeout=10) == 0
        proc.stderr.close()
