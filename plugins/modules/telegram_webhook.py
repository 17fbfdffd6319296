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
      - Fixed IP address Telegram sends updates to instead of resolving the URL's host.
      - Unset, it is not compared, and Telegram resolves the host through DNS whenever C(setWebhook) is called.
    type: str
  certificate:
    description:
      - Path, on the managed host, of a self-signed public certificate (PEM) to upload with the webhook.
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
  - Telegram allows about one C(setWebhook) call per second per bot; a C(429) answer is retried within
    O(max_retries) and O(max_retry_wait).
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
webhook:
  description:
    - The webhook settings after the run, read back with C(getWebhookInfo). In check mode, the predicted settings.
    - Same fields as RV(tgops.runbooks.telegram_bot_info#module:webhook). A bot token inside the URL is masked.
  returned: success
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

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tgops.runbooks.plugins.module_utils._telegram import (
    TelegramClient,
    TelegramError,
    describe_webhook,
    telegram_argument_spec,
    token_redactor,
)

SECRET_RE = re.compile(r'^[A-Za-z0-9_-]{1,256}$')
DEFAULT_MAX_CONNECTIONS = 40
ALREADY_SET = 'webhook is already set'

SECRET_SENT = '******** (sent)'
SECRET_NONE = '(none)'
SECRET_UNKNOWN = '(not readable)'

DIFF_KEYS = ('url', 'max_connections', 'ip_address', 'allowed_updates', 'has_custom_certificate',
             'pending_update_count')


def _norm_updates(updates):
    return sorted(set(updates or []))


def compare(current, desired):
    """Names of the managed settings whose current value differs from ``desired``.

    ``current`` is a :func:`describe_webhook` dict. ``desired`` has ``url``, ``max_connections``, ``ip_address``,
    ``allowed_updates`` (None: not managed), ``certificate`` (bool: one is uploaded), ``drop_pending_updates``.
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
        call['allowed_updates'] = list(params['allowed_updates'])
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


def diff_view(webhook, secret):
    view = dict((key, webhook.get(key)) for key in DIFF_KEYS)
    if view['allowed_updates'] is not None:
        view['allowed_updates'] = _norm_updates(view['allowed_updates'])
    view['secret_token'] = secret
    return view


def validate(module):
    params = module.params
    if params['state'] == 'present':
        if not params['url'] or not params['url'].strip():
            module.fail_json(msg='url must not be empty with state=present; use state=absent to delete the webhook')
        if params['secret_token'] is not None and not SECRET_RE.match(params['secret_token']):
            module.fail_json(msg='secret_token must be 1-256 characters of A-Z, a-z, 0-9, "_" and "-" '
                                 '(the given value has %d characters)' % len(params['secret_token']))
        if params['max_connections'] is not None and not 1 <= params['max_connections'] <= 100:
            module.fail_json(msg='max_connections must be between 1 and 100 (Telegram clamps other values, which '
                                 'would make every run report a change)')
        if params['certificate'] is not None and not os.access(params['certificate'], os.R_OK):
            module.fail_json(msg='certificate %s does not exist or is not readable' % params['certificate'])


def main():
    argument_spec = telegram_argument_spec()
    argument_spec.update(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        url=dict(type='str'),
        secret_token=dict(type='str', no_log=True),
        secret_token_update=dict(type='str', default='on_create', choices=['always', 'on_create'], no_log=False),
        allowed_updates=dict(type='list', elements='str'),
        max_connections=dict(type='int'),
        ip_address=dict(type='str'),
        certificate=dict(type='path'),
        drop_pending_updates=dict(type='bool', default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[
            ('state', 'present', ['url']),
            ('secret_token_update', 'always', ['secret_token']),
        ],
    )
    params = module.params
    redact = token_redactor(params['bot_token'], params['secret_token'])
    validate(module)
    client = TelegramClient.from_module(module, redactor=redact)

    result = dict(changed=False, differences=[], api_call=None, api_description=None, secret_token_sent=False)
    current = after = {}
    differences = []
    before_secret = after_secret = SECRET_UNKNOWN
    try:
        current = describe_webhook(client.get_webhook_info(), time.time())
        before_secret = SECRET_UNKNOWN if current['is_set'] else SECRET_NONE
        after_secret = before_secret
        drop = params['drop_pending_updates'] and current['pending_update_count'] > 0

        if params['state'] == 'present':
            desired = dict(url=params['url'], max_connections=params['max_connections'],
                           ip_address=params['ip_address'], allowed_updates=params['allowed_updates'],
                           certificate=params['certificate'] is not None,
                           drop_pending_updates=params['drop_pending_updates'])
            differences = compare(current, desired)
            always = params['secret_token_update'] == 'always'
            if always:
                differences.append('secret_token')
            if differences:
                call = set_webhook_params(current, params, send_secret=True, drop=drop)
                result['secret_token_sent'] = 'secret_token' in call
                after_secret = SECRET_SENT if 'secret_token' in call else SECRET_NONE
                after = predict_present(current, call, params['certificate'])
                result['changed'] = True
                if not module.check_mode:
                    dummy, description = client.set_webhook(call, certificate=params['certificate'])
                    result['api_call'] = 'setWebhook'
                    result['api_description'] = description
                    after = describe_webhook(client.get_webhook_info(), time.time())
                    # Telegram compares url, secret, max_connections and ip_address itself; when only the
                    # secret was in question and it answers "already set", nothing changed.
                    if differences == ['secret_token'] and (description or '').strip().lower() == ALREADY_SET:
                        result['changed'] = False
                        after_secret = before_secret
            else:
                after = current
        else:
            if current['is_set'] or drop:
                result['differences'] = differences = (['url'] if current['is_set'] else []) + \
                    (['pending_update_count'] if drop else [])
                after = predict_absent(current, drop)
                after_secret = SECRET_NONE
                result['changed'] = True
                if not module.check_mode:
                    dummy, description = client.delete_webhook(drop_pending_updates=drop)
                    result['api_call'] = 'deleteWebhook'
                    result['api_description'] = description
                    after = describe_webhook(client.get_webhook_info(), time.time())
            else:
                differences = []
                after = current
        result['differences'] = differences
    except TelegramError as exc:
        module.fail_json(**redact.redact_obj(dict(msg=exc.msg, error_code=exc.error_code,
                                                  description=exc.description)))

    result['webhook'] = after
    if module._diff:
        result['diff'] = dict(before=diff_view(current, before_secret), after=diff_view(after, after_secret))
    module.exit_json(**redact.redact_obj(result))


if __name__ == '__main__':
    main()
