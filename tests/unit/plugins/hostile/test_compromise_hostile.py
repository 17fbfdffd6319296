# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile input to the suspected-compromise evidence and the incident channel (issue 17).

Spoofed log lines: an attacker chooses the user name sshd logs (``ssh 'x from 127.0.0.1 port 1'@host``), so a
name can carry " from <address> port <n>" and sshd's whole tail; the source of a failure is the address sshd
wrote last, never one inside the name. Slack metacharacters: a message carrying ``<!channel>`` or
``<http://evil|click>`` (from an alert, a log line, a host name) reaches the channel as text.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.tgops.runbooks.plugins.modules import login_activity_info as mod

ATTACKER = '203.0.113.9'
KNOWN = mod.Sources(['127.0.0.1', '192.0.2.0/24'])

# (message sshd logs for the attacker's chosen name, the name as sshd saw it)
SPOOFED = [
    ('Failed password for invalid user x from 127.0.0.1 port 1 from 203.0.113.9 port 40022 ssh2',
     'x from 127.0.0.1 port 1'),
    ('Failed password for invalid user x from 127.0.0.1 port 1 ssh2 from 203.0.113.9 port 40022 ssh2',
     'x from 127.0.0.1 port 1 ssh2'),
    ('Failed none for invalid user a from 192.0.2.7 port 22 ssh2: RSA SHA256:x from 203.0.113.9 port 40022 ssh2',
     'a from 192.0.2.7 port 22 ssh2: RSA SHA256:x'),
    ('Failed password for invalid user from from 127.0.0.1 port 7 from 203.0.113.9 port 40022 ssh2',
     'from from 127.0.0.1 port 7'),
    ('Invalid user x from 127.0.0.1 port 1 from 203.0.113.9 port 40022', 'x from 127.0.0.1 port 1'),
    ('Invalid user x from 127.0.0.1 from 203.0.113.9 port 40022', 'x from 127.0.0.1'),
    ('Failed password for invalid user  from 127.0.0.1 port 1 from 203.0.113.9 port 40022 ssh2',
     ' from 127.0.0.1 port 1'),
]


def entries_of(messages):
    return [dict(time='2026-12-07T08:00:00+00:00', program='sshd', pid=1, message=m) for m in messages]


@pytest.mark.parametrize('message,user', SPOOFED)
def test_a_spoofed_user_name_cannot_move_a_failure_to_a_known_source(message, user):
    logins, failed, users_tried, _sudo = mod.analyse(entries_of([message]), KNOWN)
    assert [(login['source'], login['user'], login['known']) for login in logins] == [(ATTACKER, user, False)]
    assert failed == {ATTACKER: 1}
    assert users_tried == {ATTACKER: {user}}


def test_brute_force_behind_a_spoofed_name_is_a_finding_against_the_attacker():
    logins, failed, users_tried, _sudo = mod.analyse(entries_of([SPOOFED[0][0]] * 6), KNOWN)
    findings = mod.findings_of('/var/log/auth.log', logins, failed, users_tried, [], 5, True)
    assert findings == ['6 failed login attempts from 203.0.113.9 (users: x from 127.0.0.1 port 1)']


@pytest.mark.parametrize('message', [
    'Accepted publickey for root from 127.0.0.1 port 1 from 203.0.113.9 port 40022 ssh2: ED25519 SHA256:abc',
    'Accepted password for root from 127.0.0.1 port 1 ssh2 from 203.0.113.9 port 40022 ssh2',
])
def test_an_accepted_login_is_judged_by_the_last_source_sshd_wrote(message):
    logins, _failed, _users, _sudo = mod.analyse(entries_of([message]), KNOWN)
    assert [(login['source'], login['known']) for login in logins] == [(ATTACKER, False)]


@pytest.mark.parametrize('message', [
    'Failed password for root from 127.0.0.1 port 1',  # cut short: no protocol, as sshd always writes
    'Failed password for root from 127.0.0.1 port 22 ssh2 from',
    'Accepted publickey for root from 127.0.0.1 port 22 ssh2 and more',
])
def test_a_line_sshd_does_not_write_is_not_a_login(message):
    logins, failed, _users, _sudo = mod.analyse(entries_of([message]), KNOWN)
    assert logins == [] and failed == {}


def test_real_sshd_lines_still_read():
    messages = ['Accepted publickey for root from 192.0.2.10 port 51234 ssh2: ED25519 SHA256:AbCd/ef+1',
                'Accepted publickey for ops from 2001:db8::1 port 51234 ssh2: ED25519-CERT SHA256:x ID ops (serial 3)'
                ' CA ED25519 SHA256:y',
                'Failed password for root from 203.0.113.9 port 40022 ssh2',
                'Failed publickey for invalid user bob smith from 203.0.113.9 port 40022 ssh2: RSA SHA256:z',
                'Invalid user admin from 203.0.113.9 port 40023',
                'Invalid user admin from 203.0.113.9']
    logins, failed, _users, _sudo = mod.analyse(entries_of(messages), KNOWN)
    assert [(l['result'], l['user'], l['source']) for l in logins] == [
        ('accepted', 'root', '192.0.2.10'), ('accepted', 'ops', '2001:db8::1'), ('failed', 'root', ATTACKER),
        ('failed', 'bob smith', ATTACKER), ('invalid_user', 'admin', ATTACKER), ('invalid_user', 'admin', ATTACKER)]
    assert failed == {ATTACKER: 4}


# --- Slack metacharacters -----------------------------------------------------------------------------------------

SLACK_PATH = '/services/T000/B000/slackSecretPathXYZ'
CHAT = '-1001234567890'
TOKEN = '5550009876:AAE_notifyBotSecretPart-xyz0123456789'
HOSTILE_TEXTS = [
    ('<!channel> wake up', '&lt;!channel&gt; wake up'),
    ('<!here|here> <!everyone>', '&lt;!here|here&gt; &lt;!everyone&gt;'),
    ('failed login from <http://evil.example/phish|click here to re-login>',
     'failed login from &lt;http://evil.example/phish|click here to re-login&gt;'),
    ('<@U012AB3CD> <#C024BE91L> <!subteam^S123>', '&lt;@U012AB3CD&gt; &lt;#C024BE91L&gt; &lt;!subteam^S123&gt;'),
    ('already escaped &lt;!channel&gt; & more', 'already escaped &amp;lt;!channel&amp;gt; &amp; more'),
]


def run_notify(args):
    from ansible_collections.tgops.runbooks.plugins.modules import incident_notify
    from tgops_module_runner import run_module
    return run_module(incident_notify, args)


@pytest.mark.parametrize('text,sent', HOSTILE_TEXTS)
def test_slack_gets_metacharacters_as_text(api, text, sent):
    api.route(SLACK_PATH, (200, 'ok', {'Content-Type': 'text/plain'}))
    result = run_notify(dict(text=text, slack_webhook_url=api.url + SLACK_PATH))
    assert result['passed'] is True, result
    (req,) = api.calls(SLACK_PATH)
    assert req.params['text'] == sent
    assert '<' not in req.params['text'] and '>' not in req.params['text']


def test_telegram_gets_the_same_text_as_plain_text(api):
    """Telegram parses nothing without parse_mode: the text goes as it is, and no parse_mode is ever sent."""
    api.route('/bot%s/sendMessage' % TOKEN, (200, {'ok': True, 'result': {'message_id': 5, 'chat': {'id': 1},
                                                                          'date': 1}}))
    text = '<b>P0</b> <a href="http://evil.example">click</a> *bold* [x](http://evil.example) <!channel> &amp;'
    result = run_notify(dict(text=text, chat_id=CHAT, bot_token=TOKEN, api_url=api.url))
    assert result['passed'] is True, result
    (req,) = api.calls('/sendMessage')
    assert req.params['text'] == text and 'parse_mode' not in req.params
