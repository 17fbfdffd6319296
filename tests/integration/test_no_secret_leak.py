"""Every module runs at -vvv with its secrets set, on success and failure paths; no secret may appear
in the output in any spelling (raw, URL-quoted, form-quoted)."""
import os
import secrets
import string
import urllib.parse

from conftest import ROOT, ansible_playbook

PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "secrets_vvv.yml")


def spellings(value):
    return {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value), urllib.parse.quote(value)}


def test_no_secret_in_vvv_output():
    token = "%d:%s" % (secrets.randbelow(9 * 10 ** 9) + 10 ** 9,
                       "".join(secrets.choice(string.ascii_letters + string.digits + "_-") for _ in range(35)))
    env = {
        "LEAK_BOT_TOKEN": token,
        "LEAK_WEBHOOK_SECRET": "whs_" + secrets.token_urlsafe(24),
        "LEAK_TON_KEY": secrets.token_hex(32),
        "LEAK_PINATA_KEY": secrets.token_hex(10),
        "LEAK_PINATA_SECRET": secrets.token_hex(32),
        "LEAK_PINATA_JWT": "eyJ" + secrets.token_urlsafe(60),
    }
    proc = ansible_playbook(PLAYBOOK, "-vvv", env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    # The run really exercised the modules (a leak test that ran nothing would prove nothing).
    for task in ("Read the bot and its webhook", "A revoked token fails", "Check Pinata keys and the JWT",
                 "A revoked toncenter key fails"):
        assert "TASK [%s" % task in output
    assert "token rejected" in output.lower()
    bot_secret = token.split(":", 1)[1]
    for name, value in list(env.items()) + [("bot token secret part", bot_secret)]:
        for spelled in spellings(value):
            assert spelled not in output, "%s leaked in the -vvv output" % name
