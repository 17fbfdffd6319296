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
    check_token,
    telegram_argument_spec,
    token_redactor,
)
from ansible_collections.tgops.runbooks.plugins.module_utils import _app_env
from ansible_collections.tgops.runbooks.plugins.module_utils._module import seconds_problem, seconds_text
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import shown


# The kinds of finding, in the order of RV(findings).
FINDING_KINDS = ('webhook', 'pending_updates', 'delivery_error', 'credentials')


def judge_webhook(webhook, expect_webhook=None, webhook_url=None):
    """The one judgement of "is the webhook what the platform's mode and URL say" (the module's, which the filters
    read through :func:`webhook_verdict`).

    ``webhook``: :func:`describe_webhook`'s dict (``url`` and ``pending_update_count`` are enough). A webhook bot
    (``expect_webhook`` true, implied by ``webhook_url``) needs one set, to ``webhook_url`` when given; a polling
    bot (false) must have none. Compared before any masking: a URL that carries the bot token is compared as set.
    Returns ``webhook_wrong`` (a webhook bot whose webhook is missing or elsewhere), ``webhook_leftover`` (a
    webhook on a polling bot) and ``findings`` (their sentences)."""
    want = webhook_url or ''
    expect = True if want and expect_webhook is None else expect_webhook
    now = webhook.get('url') or ''
    verdict = dict(webhook_wrong=False, webhook_leftover=False, findings=[])
    if expect is True and not now:
        verdict['webhook_wrong'] = True
        verdict['findings'].append('%s: Telegram holds %d pending update(s) that nobody receives; set it with '
                                   'tgops.runbooks.telegram_webhook'
                                   % ('webhook is not set (expected %s)' % shown(want, 200) if want else
                                      'no webhook is set, but one is expected (expect_webhook=true)',
                                      webhook.get('pending_update_count') or 0))
    elif expect is True and want and now != want:
        verdict['webhook_wrong'] = True
        verdict['findings'].append('webhook is set to another URL (expected %s): %s receives the updates; re-set it '
                                   'with tgops.runbooks.telegram_webhook' % (shown(want, 200), shown(now, 200)))
    elif expect is False and now:
        verdict['webhook_leftover'] = True
        verdict['findings'].append('a webhook is set on a polling bot (getUpdates answers 409 Conflict): %s, but none '
                                   'is expected (expect_webhook=false); delete it with tgops.runbooks.telegram_webhook '
                                   'state=absent' % shown(now, 200))
    return verdict


def webhook_verdict(info, expect_webhook=None, webhook_url=None):
    """The webhook verdict of a telegram_bot_info result for a caller that knows the platform's mode and URL.

    The module's own (RV(webhook_wrong), RV(webhook_leftover), RV(findings_by_kind.webhook)) when it judged the
    same question (the role gave it the mode, and the URL when the caller has one; a caller without a URL of its
    own takes the module's); otherwise :func:`judge_webhook` on its RV(webhook), for a role that does not pass
    the URL yet. An answer without a webhook (a failed call) has no verdict."""
    want = webhook_url or ''
    expect = True if want and expect_webhook is None else expect_webhook
    if not isinstance(info, dict) or not isinstance(info.get('webhook'), dict):
        return dict(webhook_wrong=False, webhook_leftover=False, findings=[])
    if 'webhook_wrong' in info and info.get('webhook_expected') == expect \
            and (not want or info.get('webhook_expected_url')):
        by_kind = info.get('findings_by_kind') if isinstance(info.get('findings_by_kind'), dict) else {}
        return dict(webhook_wrong=bool(info['webhook_wrong']), webhook_leftover=bool(info.get('webhook_leftover')),
                    findings=list(by_kind.get('webhook') or []))
    return judge_webhook(info['webhook'], expect, want)


def find_problems(webhook, expect_webhook=None, max_pending_updates=None, max_error_age=None, webhook_url=None):
    """Human sentences for every threshold the webhook state breaks, by kind (FINDING_KINDS): ``webhook`` is
    :func:`judge_webhook`'s (against O(expect_webhook) and O(webhook_url))."""
    found = dict((kind, []) for kind in FINDING_KINDS)
    found['webhook'] = judge_webhook(webhook, expect_webhook, webhook_url)['findings']
    if max_pending_updates is not None and webhook['pending_update_count'] > max_pending_updates:
        found['pending_updates'].append('%d updates are pending, more than max_pending_updates=%d: the bot is not '
                                        'receiving updates fast enough (or its webhook answers errors)'
                                        % (webhook['pending_update_count'], max_pending_updates))
    if max_error_age is not None and webhook['last_error_age'] is not None \
            and webhook['last_error_age'] < max_error_age:
        found['delivery_error'].append('the webhook failed a delivery %d seconds ago (at %s, max_error_age=%s): %s'
                                       % (webhook['last_error_age'], webhook['last_error_date_iso'],
                                          seconds_text(max_error_age),
                                          shown(webhook['last_error_message'] or 'no error message', 300)))
    return found


def module_spec():
    """The options of the module and of its action plugin (which runs it in-process on the controller)."""
    argument_spec = telegram_argument_spec()
    argument_spec.update(
        expect_webhook=dict(type='bool'),
        webhook_url=dict(type='str'),
        max_pending_updates=dict(type='int'),
        max_error_age=dict(type='float'),
        fail_on_problem=dict(type='bool', default=False),
    )
    argument_spec.update(_app_env.ARGUMENT_SPEC)
    return dict(argument_spec=argument_spec)


# The env variable the runbooks' applications read their bot token from.
APP_ENV_NAMES = {'bot_token': 'TELEGRAM_BOT_TOKEN'}


def app_token(module):
    """With O(app_env_file): the token the application runs with replaces the given one for every call, and
    ``credentials`` says whether they are equal (values never returned); else None."""
    params = module.params
    if not params['app_env_file']:
        return None
    names = params['app_env_names'] or APP_ENV_NAMES
    unknown = sorted(set(names) - set(APP_ENV_NAMES))
    if unknown:
        module.fail_json(msg='app_env_names: unknown option(s) %s (known: %s)'
                             % (', '.join(unknown), ', '.join(sorted(APP_ENV_NAMES))))
    use, match, findings = _app_env.app_credentials(params['app_env_file'], names,
                                                    {'bot_token': params['bot_token']})
    app_set = use['bot_token'] != params['bot_token'] or match['bot_token'] is True
    if use['bot_token'] != params['bot_token']:
        module.no_log_values.add(use['bot_token'])
        if check_token(use['bot_token']):
            module.fail_json(msg="the app's %s in %s is not a bot token (expected <digits>:<secret>): the bot cannot "
                                 "log in with it; put a valid token in the env file and the vault"
                                 % (names['bot_token'], params['app_env_file']))
        params['bot_token'] = use['bot_token']
    return dict(source='app' if app_set else 'given', match=match, findings=findings)


def run_module(module):
    """Everything after the options are validated; ends with exit_json or fail_json."""
    params = module.params
    given = params['bot_token']
    credentials = app_token(module)
    # Both tokens are masked: the app's is the one sent, the given one may still be quoted back in an error.
    redact = token_redactor(params['bot_token'], *([given, 'bot' + given] if given != params['bot_token'] else []))
    if params['webhook_url'] and params['expect_webhook'] is False:
        module.fail_json(msg='webhook_url is the URL a webhook bot must have, but expect_webhook=false says the bot '
                             'polls: set one or the other')
    if params['max_pending_updates'] is not None and params['max_pending_updates'] < 0:
        module.fail_json(msg='max_pending_updates must be 0 or more')
    problem = seconds_problem('max_error_age', params['max_error_age'])
    if problem:
        module.fail_json(msg=problem)

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
                            params['max_error_age'], params['webhook_url'])
    by_kind['credentials'] = credentials['findings'] if credentials else []
    problems = [line for kind in FINDING_KINDS for line in by_kind[kind]]
    # judged on the URL as Telegram holds it, before the token in it is masked
    judged = judge_webhook(webhook, params['expect_webhook'], params['webhook_url'])
    expected = True if params['webhook_url'] and params['expect_webhook'] is None else params['expect_webhook']
    result = redact.redact_obj(dict(changed=False, bot=bot, webhook=webhook, passed=not problems,
                                    findings=problems, findings_by_kind=by_kind, webhook_expected=expected,
                                    webhook_expected_url=params['webhook_url'] or '',
                                    webhook_wrong=judged['webhook_wrong'],
                                    webhook_leftover=judged['webhook_leftover'],
                                    credentials_source=credentials['source'] if credentials else 'given',
                                    credentials_match=credentials['match'] if credentials else {}))
    if problems and params['fail_on_problem']:
        module.fail_json(msg='bot is unhealthy: ' + '; '.join(result['findings']), **result)
    module.exit_json(**result)
