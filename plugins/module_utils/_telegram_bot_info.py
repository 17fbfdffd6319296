# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The code of the telegram_bot_info module (private to tgops.runbooks): its options and its body, here
so that its action plugin, which runs it in the worker process on the controller, imports only module_utils.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.tgops.runbooks.plugins.module_utils._telegram import (
    TelegramClient,
    TelegramError,
    telegram_argument_spec,
    token_redactor,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import shown


# The kinds of finding, in the order of RV(findings).
FINDING_KINDS = ('webhook', 'pending_updates', 'delivery_error')


def find_problems(webhook, expect_webhook=None, max_pending_updates=None, max_error_age=None):
    """Human sentences for every threshold the webhook state breaks, by kind (FINDING_KINDS): ``webhook`` is
    the webhook against O(expect_webhook), which a caller that judges the webhook itself leaves out by key."""
    found = dict((kind, []) for kind in FINDING_KINDS)
    if expect_webhook is True and not webhook['is_set']:
        found['webhook'].append('no webhook is set, but one is expected (expect_webhook=true): Telegram holds %d '
                                'pending update(s) that nobody receives; set it with tgops.runbooks.telegram_webhook'
                                % webhook['pending_update_count'])
    if expect_webhook is False and webhook['is_set']:
        found['webhook'].append('a webhook is set (%s), but none is expected (expect_webhook=false): a polling bot '
                                'gets 409 Conflict from getUpdates until it is deleted (tgops.runbooks.telegram_webhook '
                                'state=absent)' % shown(webhook['url'], 200))
    if max_pending_updates is not None and webhook['pending_update_count'] > max_pending_updates:
        found['pending_updates'].append('%d updates are pending, more than max_pending_updates=%d: the bot is not '
                                        'receiving updates fast enough (or its webhook answers errors)'
                                        % (webhook['pending_update_count'], max_pending_updates))
    if max_error_age is not None and webhook['last_error_age'] is not None \
            and webhook['last_error_age'] < max_error_age:
        found['delivery_error'].append('the webhook failed a delivery %d seconds ago (at %s, max_error_age=%d): %s'
                                       % (webhook['last_error_age'], webhook['last_error_date_iso'], max_error_age,
                                          shown(webhook['last_error_message'] or 'no error message', 300)))
    return found


def module_spec():
    """The options of the module and of its action plugin (which runs it in-process on the controller)."""
    argument_spec = telegram_argument_spec()
    argument_spec.update(
        expect_webhook=dict(type='bool'),
        max_pending_updates=dict(type='int'),
        max_error_age=dict(type='int'),
        fail_on_problem=dict(type='bool', default=False),
    )
    return dict(argument_spec=argument_spec)


def run_module(module):
    """Everything after the options are validated; ends with exit_json or fail_json."""
    params = module.params
    redact = token_redactor(params['bot_token'])
    for name in ('max_pending_updates', 'max_error_age'):
        if params[name] is not None and params[name] < 0:
            module.fail_json(msg='%s must be 0 or more' % name)

    client = TelegramClient.from_module(module, redactor=redact)
    bot = webhook = None
    try:
        bot = client.bot()
        webhook = client.webhook(time.time())
    except TelegramError as exc:
        module.fail_json(**redact.redact_obj(dict(msg=exc.msg, error_code=exc.error_code,
                                                  description=exc.description, error_kind=exc.kind,
                                                  token_rejected=exc.error_code == 401)))

    by_kind = find_problems(webhook, params['expect_webhook'], params['max_pending_updates'],
                            params['max_error_age'])
    problems = [line for kind in FINDING_KINDS for line in by_kind[kind]]
    result = redact.redact_obj(dict(changed=False, bot=bot, webhook=webhook, passed=not problems,
                                    findings=problems, findings_by_kind=by_kind))
    if problems and params['fail_on_problem']:
        module.fail_json(msg='bot is unhealthy: ' + '; '.join(result['findings']), **result)
    module.exit_json(**result)
