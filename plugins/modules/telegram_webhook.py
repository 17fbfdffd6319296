#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: telegram_webhook
short_description: Set or delete a Telegram bot's webhook
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Sets (O(state=present)) or deletes (O(state=absent)) the webhook of a Telegram bot with the Bot API methods
    C(setWebhook) and C(deleteWebhook).
  - The module first reads the current settings with C(getWebhookInfo) and calls C(setWebhook) only when a managed
    setting differs, so a second run reports no change.
  - The webhook's secret token cannot be read back from Telegram; see O(secret_token_update) for how it is handled.
  - A bot switched from webhook to polling (C(getUpdates)) needs O(state=absent), otherwise polling fails with
    C(409 Conflict).
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._telegram
  - tgops.runbooks._http
attributes:
  check_mode:
    support: full
    details:
      - No C(setWebhook) or C(deleteWebhook) call is made in check mode; C(getWebhookInfo) is.
      - With O(secret_token_update=always) check mode cannot know whether the secret differs and predicts a
        change (the real run then reports what Telegram did).
  diff_mode:
    support: full
    details:
      - The diff shows the webhook settings before and after. The secret token is never shown, only whether it
        is sent (C(********)) and that the current one is not readable.
  idempotent:
    support: partial
    details:
      - URL, O(max_connections), O(ip_address), O(allowed_updates) and the presence of a custom certificate are
        compared with C(getWebhookInfo); C(setWebhook) is called only when one of them differs.
      - C(ip_address) is compared only when O(ip_address) is set. Telegram reports the address it resolved
        for the URL's host whenever a webhook is set, so comparing it otherwise would report a change on every
        run.
      - Telegram answers C(Webhook is already set) when only O(allowed_updates) changes, yet applies it; the
        module reads the state back and reports the change.
      - The secret token is not returned by Telegram and so is not compared. With the default
        O(secret_token_update=on_create) a changed O(secret_token) alone is NOT applied and the run reports no
        change; it is sent only when the webhook is created or changed for another reason. Use
        O(secret_token_update=always) to apply a rotated secret.
      - With O(secret_token_update=always), C(setWebhook) is called on every run and the result is taken from
        Telegram's answer (C(Webhook is already set) when url, secret, max_connections and ip_address all match,
        which means no change). This stays idempotent outside check mode, except with O(certificate), because Telegram always
        re-applies a webhook with an uploaded certificate.
      - The certificate's content cannot be read back; only whether one was uploaded is compared.
      - Telegram omits C(allowed_updates) from C(getWebhookInfo) when it equals its default set; an explicit
        list that happens to equal that default set is therefore reported as changed on every run. Use V([])
        for the default set.
      - O(drop_pending_updates=true) is a change whenever updates are pending; updates arriving between runs
        make a later run change again.
options:
  state:
    description:
      - V(present) sets the webhook to O(url) with the given settings.
      - V(absent) deletes the webhook (the bot can then poll with C(getUpdates)).
    type: str
    choices: [present, absent]
    default: present
  url:
    description:
      - HTTPS URL Telegram delivers updates to. Required with O(state=present).
      - Telegram accepts ports 80, 88, 443 and 8443 only; its own validation errors are returned as they are.
      - Ignored with O(state=absent).
    type: str
  secret_token:
    description:
      - Secret Telegram sends in the C(X-Telegram-Bot-Api-Secret-Token) header of every delivery, 1-256
        characters of C(A-Z), C(a-z), C(0-9), C(_) and C(-).
      - Telegram never returns it; see O(secret_token_update).
      - When C(setWebhook) is called without it, Telegram removes any secret the webhook had.
      - When not set, the module reads the environment variable E(TELEGRAM_WEBHOOK_SECRET) (of the module's process - the
        controller's for a task delegated to C(localhost), else set it with the task keyword C(environment)).
    type: str
  secret_token_update:
    description:
      - When to send O(secret_token), since the current secret cannot be compared.
      - V(on_create) sends it only when C(setWebhook) is called anyway (webhook created, or another setting
        changed). A changed secret alone is not applied. Safe default for repeated runs.
      - V(always) calls C(setWebhook) with the secret on every run. Telegram compares it with the stored secret
        and answers C(Webhook is already set) when nothing differs; the module reports a change only otherwise.
        Use it to rotate the secret. Requires O(secret_token).
    type: str
    choices: [always, on_create]
    default: on_create
  allowed_updates:
    description:
      - Update types the bot receives, for example V(message), V(callback_query), V(chat_member).
      - Names are compared and sent in lower case, as Telegram stores them. A name Telegram does not know is
        ignored by Telegram; the module then warns that the read-back subscription differs.
      - V([]) means Telegram's default set (all types except C(chat_member), C(message_reaction) and
        C(message_reaction_count)).
      - Unset, the current subscription is kept and not compared.
    type: list
    elements: str
  max_connections:
    description:
      - Maximum simultaneous HTTPS connections for delivery, 1-100.
      - Unset, the current value is kept (Telegram's default 40 for a new webhook).
    type: int
  ip_address:
    description:
      - Fixed IPv4 address Telegram sends updates to instead of resolving the URL's host (Telegram refuses IPv6
        addresses).
      - Unset, it is not compared, and Telegram resolves the host through DNS whenever C(setWebhook) is called.
    type: str
  certificate:
    description:
      - Path, on the managed host, of a self-signed public certificate (PEM) to upload with the webhook.
      - It must be a regular file of at most 64 KiB; a directory, FIFO, device or socket is refused before it is
        opened.
      - Only the presence of a certificate can be compared, not its content.
      - Unset, a webhook that has a custom certificate is set again without one.
    type: path
  drop_pending_updates:
    description:
      - Drop the updates Telegram holds for the bot.
      - With O(state=present) pending updates are dropped with the C(setWebhook) call; with O(state=absent) with
        C(deleteWebhook). In both cases pending updates alone make the module call the API.
    type: bool
    default: false
seealso:
  - module: tgops.runbooks.telegram_bot_info
  - name: Telegram Bot API setWebhook
    description: The method behind O(state=present).
    link: https://core.telegram.org/bots/api#setwebhook
notes:
  - Telegram allows one C(setWebhook) call with a URL per second per bot, no-op calls included; a C(429) answer
    is retried after the C(retry_after) it names, within O(max_retries) and O(max_retry_wait).
  - Telegram closes the current webhook before it validates a new one, so a refused C(setWebhook) leaves the bot
    with no webhook. After any failed change the module reads the state back with C(getWebhookInfo), says in
    its message what the bot has now, returns it as RV(webhook), and reports C(changed) when the webhook was
    removed.
"""

EXAMPLES = r"""
- name: Point the toogoodtogo bot at its webhook
  tgops.runbooks.telegram_webhook:
    bot_token: "{{ vault_toogoodtogo_bot_token }}"
    url: https://bot.example.org/telegram/webhook
    secret_token: "{{ vault_toogoodtogo_webhook_secret }}"
    allowed_updates: [message, callback_query]
    max_connections: 40

- name: Rotate the webhook secret (setWebhook every run, changed only when Telegram applied something)
  tgops.runbooks.telegram_webhook:
    bot_token: "{{ vault_toogoodtogo_bot_token }}"
    url: https://bot.example.org/telegram/webhook
    secret_token: "{{ vault_toogoodtogo_webhook_secret_new }}"
    secret_token_update: always

- name: Unblock the polling quiz bot (409 Conflict) by deleting a leftover webhook
  tgops.runbooks.telegram_webhook:
    bot_token: "{{ vault_tgquiz_bot_token }}"
    state: absent

- name: After fixing a failing webhook, drop the backlog it left
  tgops.runbooks.telegram_webhook:
    bot_token: "{{ vault_toogoodtogo_bot_token }}"
    url: https://bot.example.org/telegram/webhook
    secret_token: "{{ vault_toogoodtogo_webhook_secret }}"
    drop_pending_updates: true
"""

RETURN = r"""
error_code:
  description:
    - On failure, the Telegram C(error_code) or HTTP status of the failed call - V(401) a rejected token, V(404) a
      request path the server does not recognise (check O(api_url)), V(429) rate limited.
  returned: failure
  type: int
  sample: 401
token_rejected:
  description: On failure, whether Telegram rejected the token (C(401 Unauthorized)).
  returned: failure
  type: bool
  sample: true
error_kind:
  description:
    - On failure, what failed - V(api) (Telegram refused the call), V(malformed) (an answer of the wrong shape),
      V(timeout), V(unreachable), V(rate_limited), V(too_large) or V(bad_body) (an answer that could not be read).
  returned: failure
  type: str
  sample: api
webhook:
  description:
    - The webhook settings after the run, read back with C(getWebhookInfo). In check mode, the predicted settings.
    - Same fields as RV(tgops.runbooks.telegram_bot_info#module:webhook). A bot token inside the URL is masked.
  returned: success, and after a failed C(setWebhook) or C(deleteWebhook) when the state could be read back
  type: dict
  contains:
    url:
      description: The webhook URL, V("") when none is set.
      type: str
      sample: https://bot.example.org/telegram/webhook
    is_set:
      description: Whether a webhook is set.
      type: bool
      sample: true
    has_custom_certificate:
      description: Whether a self-signed certificate is in use.
      type: bool
      sample: false
    pending_update_count:
      description: Updates Telegram holds for the bot.
      type: int
      sample: 0
    ip_address:
      description: The IP address Telegram uses for the webhook host.
      type: str
      sample: 203.0.113.10
    max_connections:
      description: Maximum simultaneous connections.
      type: int
      sample: 40
    allowed_updates:
      description: Subscribed update types; V(null) for Telegram's default set.
      type: list
      elements: str
      sample: [message, callback_query]
    last_error_date:
      description: Unix time of the last delivery error.
      type: int
      sample: 1763900000
    last_error_date_iso:
      description: The last delivery error time as ISO-8601 UTC.
      type: str
      sample: "2025-11-23T12:13:20Z"
    last_error_age:
      description: Seconds since the last delivery error.
      type: int
      sample: 42
    last_error_message:
      description: The last delivery error.
      type: str
      sample: "Wrong response from the webhook: 500 Internal Server Error"
    last_synchronization_error_date:
      description: Unix time of the last synchronization error.
      type: int
      sample: 1763900000
    last_synchronization_error_date_iso:
      description: The last synchronization error time as ISO-8601 UTC.
      type: str
      sample: "2025-11-23T12:13:20Z"
differences:
  description:
    - The settings that differed from the desired state and caused the API call; empty when nothing differed.
    - V(secret_token) appears with O(secret_token_update=always) (the secret is sent on every run).
  returned: success
  type: list
  elements: str
  sample: [url, max_connections]
api_call:
  description: The method called (V(setWebhook) or V(deleteWebhook)); V(null) when none was needed or in check mode.
  returned: success
  type: str
  sample: setWebhook
api_description:
  description: Telegram's description of the call, for example V(Webhook was set) or V(Webhook is already set).
  returned: success
  type: str
  sample: Webhook was set
secret_token_sent:
  description: Whether the secret token was sent (or, in check mode, would be sent) with C(setWebhook).
  returned: success
  type: bool
  sample: true
"""

import ipaddress
import os
import re
import stat


from ansible.module_utils.basic import env_fallback

from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import shown
from ansible_collections.tgops.runbooks.plugins.module_utils._telegram import (
    TelegramClient,
    TelegramError,
    telegram_argument_spec,
    token_redactor,
)

SECRET_RE = re.compile(r'^[A-Za-z0-9_-]{1,256}$')
UPDATE_TYPE_RE = re.compile(r'^[A-Za-z_]{1,64}$')
DEFAULT_MAX_CONNECTIONS = 40
ALREADY_SET = 'webhook is already set'
# A webhook certificate is one public PEM certificate, a few KB; anything far larger is the wrong file.
MAX_CERTIFICATE_SIZE = 64 * 1024

SECRET_SENT = '******** (sent)'
SECRET_NONE = '(none)'
SECRET_UNKNOWN = '(not readable)'

DIFF_KEYS = ('url', 'max_connections', 'ip_address', 'allowed_updates', 'has_custom_certificate',
             'pending_update_count')


def _norm_updates(updates):
    # Telegram lowercases update type names, so "Message" and "message" are the same subscription.
    return sorted(set(u.strip().lower() for u in updates or []))


def compare(current, desired):
    """Names of the managed settings whose current value differs from ``desired``.

    ``current`` is a :func:`describe_webhook` dict. ``desired`` has ``url``, ``max_connections``, ``ip_address``,
    ``allowed_updates`` (None: not managed), ``certificate`` (bool: one is uploaded), ``drop_pending_updates``.
    ``ip_address`` takes part only when managed: Telegram always reports the address it resolved for the URL's
    host, which says nothing about what the playbook asked for.
    """
    differences = []
    if current['url'] != desired['url']:
        differences.append('url')
    if desired.get('max_connections') is not None and current.get('max_connections') != desired['max_connections']:
        differences.append('max_connections')
    if desired.get('ip_address') is not None and current.get('ip_address') != desired['ip_address']:
        differences.append('ip_address')
    if desired.get('allowed_updates') is not None \
            and _norm_updates(current.get('allowed_updates')) != _norm_updates(desired['allowed_updates']):
        differences.append('allowed_updates')
    if bool(desired.get('certificate')) != bool(current.get('has_custom_certificate')):
        differences.append('certificate')
    if desired.get('drop_pending_updates') and current.get('pending_update_count'):
        differences.append('pending_update_count')
    return differences


def set_webhook_params(current, params, send_secret, drop):
    """Arguments of the setWebhook call for the module parameters."""
    call = dict(url=params['url'], drop_pending_updates=bool(drop))
    max_connections = params['max_connections']
    if max_connections is None and current['is_set'] and current.get('max_connections'):
        # Not managed: keep the current value (Telegram resets an omitted max_connections to its default).
        max_connections = current['max_connections']
    if max_connections is not None:
        call['max_connections'] = max_connections
    if params['ip_address'] is not None:
        call['ip_address'] = params['ip_address']
    if params['allowed_updates'] is not None:
        call['allowed_updates'] = _norm_updates(params['allowed_updates'])
    if send_secret and params['secret_token'] is not None:
        call['secret_token'] = params['secret_token']
    return call


def predict_present(current, call, certificate):
    after = dict(current)
    after['url'] = call['url']
    after['is_set'] = True
    after['max_connections'] = call.get('max_connections', DEFAULT_MAX_CONNECTIONS)
    if 'ip_address' in call:
        after['ip_address'] = call['ip_address']
    elif current['url'] != call['url']:
        after['ip_address'] = None  # Telegram resolves the new host
    if 'allowed_updates' in call:
        after['allowed_updates'] = call['allowed_updates'] or None
    after['has_custom_certificate'] = bool(certificate)
    if call.get('drop_pending_updates'):
        after['pending_update_count'] = 0
    return after


def predict_absent(current, drop):
    after = dict(current)
    after.update(url='', is_set=False, max_connections=None, ip_address=None, has_custom_certificate=False)
    if drop:
        after['pending_update_count'] = 0
    return after


def diff_view(webhook, secret, manage_ip=True):
    view = dict((key, webhook.get(key)) for key in DIFF_KEYS if manage_ip or key != 'ip_address')
    if view['allowed_updates'] is not None:
        view['allowed_updates'] = _norm_updates(view['allowed_updates'])
    view['secret_token'] = secret
    return view


def read_certificate(path, limit=MAX_CERTIFICATE_SIZE):
    """``(path, bytes)`` of a regular file of at most ``limit`` bytes; ValueError with a reason otherwise.

    Checked with stat() before opening (a FIFO would block, /dev/zero never ends, a directory raises), opened
    non-blocking, checked again on the open descriptor (the path may have been swapped in between), and read
    with a bound.
    """
    kinds = ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISCHR, 'a character device'),
             (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'))

    def check(mode, size):
        if not stat.S_ISREG(mode):
            what = next((name for test, name in kinds if test(mode)), 'not a regular file')
            raise ValueError('certificate %s is %s; it must be a regular file holding a PEM certificate'
                             % (shown(path, 200), what))
        if size > limit:
            raise ValueError('certificate %s has %d bytes, more than the %d bytes a webhook certificate can '
                             'plausibly have: is it the right file?' % (shown(path, 200), size, limit))
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        raise ValueError('certificate %s does not exist or is not readable: %s' % (
            shown(path, 200), getattr(exc, 'strerror', None) or exc))
    check(info.st_mode, info.st_size)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_NOCTTY', 0))
    except (OSError, ValueError) as exc:
        raise ValueError('certificate %s does not exist or is not readable: %s' % (
            shown(path, 200), getattr(exc, 'strerror', None) or exc))
    try:
        info = os.fstat(fd)
        check(info.st_mode, info.st_size)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b''.join(chunks)
    except OSError as exc:
        raise ValueError('certificate %s cannot be read: %s' % (shown(path, 200), exc.strerror or exc))
    finally:
        os.close(fd)
    check(stat.S_IFREG, len(data))
    if not data.strip():
        raise ValueError('certificate %s is empty' % shown(path, 200))
    return path, data


def validate(module):
    params = module.params
    if params['state'] == 'present':
        if not params['url'] or not params['url'].strip():
            module.fail_json(msg='url must not be empty with state=present; use state=absent to delete the webhook')
        if any(ord(c) < 33 or ord(c) == 127 for c in params['url']):
            module.fail_json(msg='url must not contain whitespace or control characters')
        if params['secret_token'] is not None and not SECRET_RE.match(params['secret_token']):
            module.fail_json(msg='secret_token must be 1-256 characters of A-Z, a-z, 0-9, "_" and "-" '
                                 '(the given value has %d characters)' % len(params['secret_token']))
        if params['max_connections'] is not None and not 1 <= params['max_connections'] <= 100:
            module.fail_json(msg='max_connections must be between 1 and 100 (Telegram clamps other values, which '
                                 'would make every run report a change)')
        if params['allowed_updates'] is not None:
            bad = [u for u in params['allowed_updates'] if not isinstance(u, str) or not UPDATE_TYPE_RE.match(u)]
            if bad:
                module.fail_json(msg='allowed_updates must be update type names such as message or callback_query '
                                     '(letters and "_"); not: %s' % shown(', '.join(str(b) for b in bad[:5]), 200))
        if params['ip_address'] is not None:
            try:
                address = ipaddress.ip_address(params['ip_address'])
            except ValueError:
                module.fail_json(msg='ip_address must be an IPv4 address, got %s' % shown(params['ip_address']))
            if address.version != 4:
                module.fail_json(msg='ip_address must be an IPv4 address: Telegram refuses IPv6 webhook addresses')
        if params['certificate'] is not None:
            try:
                return read_certificate(params['certificate'])
            except ValueError as exc:
                module.fail_json(msg=str(exc))
    return None


def _is_already_set(description):
    return (description or '').strip().rstrip('.').lower() == ALREADY_SET


def _state_text(webhook):
    return ('a webhook to %s' % shown(webhook['url'], 200)) if webhook['is_set'] else 'no webhook'


def main():
    argument_spec = telegram_argument_spec()
    argument_spec.update(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        url=dict(type='str'),
        secret_token=dict(type='str', no_log=True, fallback=(env_fallback, ['TELEGRAM_WEBHOOK_SECRET'])),
        secret_token_update=dict(type='str', default='on_create', choices=['always', 'on_create'], no_log=False),
        allowed_updates=dict(type='list', elements='str'),
        max_connections=dict(type='int'),
        ip_address=dict(type='str'),
        certificate=dict(type='path'),
        drop_pending_updates=dict(type='bool', default=False),
    )
    module = new_module(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[
            ('state', 'present', ['url']),
            ('secret_token_update', 'always', ['secret_token']),
        ],
    )
    params = module.params
    redact = token_redactor(params['bot_token'], params['secret_token'])
    certificate = validate(module)
    client = TelegramClient.from_module(module, redactor=redact)
    manage_ip = params['ip_address'] is not None

    result = dict(changed=False, differences=[], api_call=None, api_description=None, secret_token_sent=False)
    current = after = {}
    differences = []
    before_secret = after_secret = SECRET_UNKNOWN
    try:
        current = client.webhook()
    except TelegramError as exc:
        module.fail_json(**redact.redact_obj(dict(msg=exc.msg, error_code=exc.error_code,
                                                  description=exc.description, error_kind=exc.kind,
                                                  token_rejected=exc.error_code == 401)))
    before_secret = SECRET_UNKNOWN if current['is_set'] else SECRET_NONE
    after_secret = before_secret
    drop = params['drop_pending_updates'] and current['pending_update_count'] > 0
    method = None
    try:
        if params['state'] == 'present':
            desired = dict(url=params['url'], max_connections=params['max_connections'],
                           ip_address=params['ip_address'], allowed_updates=params['allowed_updates'],
                           certificate=certificate is not None, drop_pending_updates=params['drop_pending_updates'])
            differences = compare(current, desired)
            if params['secret_token_update'] == 'always':
                differences.append('secret_token')
            if differences:
                call = set_webhook_params(current, params, send_secret=True, drop=drop)
                result['secret_token_sent'] = 'secret_token' in call
                after_secret = SECRET_SENT if 'secret_token' in call else SECRET_NONE
                after = predict_present(current, call, certificate)
                result['changed'] = True
                if not module.check_mode:
                    method = 'setWebhook'
                    dummy, description = client.set_webhook(call, certificate=certificate)
                    result['api_call'] = method
                    result['api_description'] = description
                    after = client.webhook()
                    if _is_already_set(description):
                        # Telegram compared url, secret, max_connections, ip_address and the certificate itself
                        # and found them equal; it still applies a changed allowed_updates. So the run changed
                        # something only if the read-back state differs.
                        result['changed'] = compare(after, dict(
                            url=current['url'], allowed_updates=current.get('allowed_updates') or [],
                            certificate=current['has_custom_certificate'])) != []
                        if not result['changed']:
                            after_secret = before_secret
                    left = [d for d in compare(after, desired) if d != 'pending_update_count']
                    if left:
                        module.warn(redact('after setWebhook, getWebhookInfo still differs from the requested '
                                           'settings in %s (Telegram ignores unknown update types and clamps '
                                           'values); the next run will try again' % ', '.join(left)))
            else:
                after = current
        else:
            if current['is_set'] or drop:
                differences = (['url'] if current['is_set'] else []) + (['pending_update_count'] if drop else [])
                after = predict_absent(current, drop)
                after_secret = SECRET_NONE
                result['changed'] = True
                if not module.check_mode:
                    method = 'deleteWebhook'
                    dummy, description = client.delete_webhook(drop_pending_updates=drop)
                    result['api_call'] = method
                    result['api_description'] = description
                    after = client.webhook()
            else:
                after = current
        result['differences'] = differences
    except TelegramError as exc:
        fail_after_change(module, client, redact, exc, method, current, differences)

    result['webhook'] = after
    if module._diff:
        result['diff'] = dict(before=diff_view(current, before_secret, manage_ip),
                              after=diff_view(after, after_secret, manage_ip))
    module.exit_json(**redact.redact_obj(result))


def fail_after_change(module, client, redact, exc, method, before, differences):
    """Fail after a refused (or unconfirmed) change, saying what state the bot is in now.

    The Bot API server closes the current webhook before it validates a new one, so a rejected setWebhook
    leaves the bot with NO webhook. Read the state back rather than assume the old one survived.
    """
    result = dict(msg=exc.msg, error_code=exc.error_code, description=exc.description, error_kind=exc.kind,
                  token_rejected=exc.error_code == 401,
                  api_call=method, differences=differences, changed=False)
    if method is not None:
        try:
            now = client.webhook()
        except TelegramError as again:
            result['msg'] += ('. The webhook state afterwards is unknown (getWebhookInfo failed: %s); before the '
                              'call the bot had %s' % (again.msg, _state_text(before)))
        else:
            result['webhook'] = now
            result['changed'] = now['url'] != before['url'] or now['is_set'] != before['is_set']
            if result['changed']:
                result['msg'] += ('. Telegram removed the previous webhook before refusing the change: the bot now '
                                  'has %s (it had %s); it receives no updates until a setWebhook succeeds'
                                  % (_state_text(now), _state_text(before))) if not now['is_set'] else (
                    '. The bot now has %s (it had %s)' % (_state_text(now), _state_text(before)))
            else:
                result['msg'] += '. getWebhookInfo afterwards: the bot still has %s' % _state_text(now)
    module.fail_json(**redact.redact_obj(result))


if __name__ == '__main__':
    main()
