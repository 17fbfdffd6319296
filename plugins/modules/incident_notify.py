#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: incident_notify
short_description: Tell the incident channel (Telegram chat, Slack) what an incident playbook is doing
version_added: 0.2.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Sends one message to the on-call channel - a Telegram chat through the Bot API C(sendMessage), a Slack
    incoming webhook, or both - for example "acknowledged" when an incident playbook starts and the outcome
    when it ends.
  - Cleanly off when no channel is configured (neither O(chat_id) nor O(slack_webhook_url)) - RV(skipped=true),
    nothing sent, no warning.
  - Every string in O(redact), and the bot token, are masked in the text before it leaves the machine, raw and
    URL-quoted, so a log line quoted in a message cannot carry a secret to the chat.
  - A channel that refuses the message (rejected token, unknown chat, revoked Slack webhook, rate limit
    beyond the budget, unreachable API) is a problem - RV(passed=false), RV(problems) - and a warning; the task
    fails on it only with O(fail_on_problem=true), because a failed notification must not stop the incident
    response. A half-configured channel (a chat without a bot token, or the reverse) is a problem too.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._http
attributes:
  check_mode:
    support: full
    details:
      - Sends nothing; reports which channels would get the message (RV(ignore:changed=true) when any is configured).
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Sends the message every time it runs, because each notification is its own event.
options:
  text:
    description:
      - The message. Longer than 4096 characters (Telegram's limit) it is cut, and says so at its end.
    type: str
    required: true
  chat_id:
    description:
      - The Telegram chat to post to - a numeric chat id (negative for groups) or a public channel's C(@name).
      - Unset (with no O(slack_webhook_url)), notifications are off.
    type: str
  bot_token:
    description:
      - Token of the bot that posts to O(chat_id) (an alerting bot of its own, or the platform's bot), without the
        C(bot) URL prefix. Required with O(chat_id).
      - Defaults to the environment variable E(TGOPS_NOTIFY_TELEGRAM_BOT_TOKEN).
    type: str
  api_url:
    description:
      - Base URL of the Bot API server, without the C(/bot<token>) part.
    type: str
    default: https://api.telegram.org
  slack_webhook_url:
    description:
      - A Slack incoming webhook URL (C(https://hooks.slack.com/services/...)); its path is a secret.
      - Defaults to the environment variable E(TGOPS_NOTIFY_SLACK_WEBHOOK_URL).
    type: str
  redact:
    description:
      - Strings that must never be sent (the secrets the calling playbook knows); each is replaced by
        C(********) in the text.
    type: list
    elements: str
    default: []
  fail_on_problem:
    description:
      - Fail the task when RV(passed) is V(false) (a configured channel did not take the message).
    type: bool
    default: false
notes:
  - The token and the Slack webhook URL never appear in results, messages or warnings.
seealso:
  - module: tgops.runbooks.telegram_bot_info
  - name: Telegram Bot API sendMessage
    description: The method this module calls.
    link: https://core.telegram.org/bots/api#sendmessage
  - name: Slack incoming webhooks
    description: How a Slack webhook takes a message, and its errors.
    link: https://api.slack.com/messaging/webhooks
"""

EXAMPLES = r"""
- name: Tell the on-call chat the incident is being handled
  tgops.runbooks.incident_notify:
    text: "[P0] tgquiz-prod-1: P0 playbook started by alice"
    chat_id: "-1001234567890"
    bot_token: "{{ vault_notify_telegram_bot_token }}"
    redact: "{{ [vault_tgquiz_bot_token, vault_tgquiz_db_password] }}"

- name: Post the outcome to Slack only
  tgops.runbooks.incident_notify:
    text: "[P0] tgquiz-prod-1: resolved in 42 s"
    slack_webhook_url: "{{ vault_notify_slack_webhook_url }}"
"""

RETURN = r"""
skipped:
  description: V(true) when no channel is configured (nothing was sent, notifications are off).
  returned: always
  type: bool
  sample: false
sent:
  description: The channels that took the message (in check mode, those that would be sent to).
  returned: always
  type: list
  elements: dict
  contains:
    channel:
      description: V(telegram) or V(slack).
      type: str
    message_id:
      description: Telegram's id of the message sent; null for Slack and in check mode.
      type: int
  sample: [{channel: telegram, message_id: 42}]
text:
  description: The text as sent - secrets masked, cut to Telegram's limit.
  returned: always
  type: str
passed:
  description: V(false) when a configured channel did not take the message (the collection's verdict key).
  returned: always
  type: bool
problems:
  description: One sentence per channel that did not take the message; empty when RV(passed).
  returned: always
  type: list
  elements: str
  sample: ["telegram: sendMessage failed: Telegram answered 400: Bad Request: chat not found"]
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.tgops.runbooks.plugins.module_utils._http import (
    APIError,
    JSONAPIClient,
    check_http_params,
    check_url,
    excerpt,
    guard_int_options,
    http_argument_spec,
    refuse_bad_ints,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._telegram import (
    DEFAULT_API_URL,
    TelegramClient,
    TelegramError,
    check_token,
    token_redactor,
)

# Telegram's limit on a message's text, in characters (UTF-16 units, but our texts are mostly ASCII).
MAX_TEXT = 4096
_CUT = '\n[... cut: the message was longer than %d characters]' % MAX_TEXT


def message_text(text, redact):
    """The text as it may leave the machine: secrets masked, then cut to Telegram's limit."""
    text = redact(text)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT - len(_CUT)] + _CUT
    return text


def config_problems(params):
    """Why a configured channel cannot be used (never quoting a secret)."""
    problems = []
    if params['chat_id'] and not params['bot_token']:
        problems.append('telegram: chat_id is set but bot_token is not (nor TGOPS_NOTIFY_TELEGRAM_BOT_TOKEN)')
    elif params['bot_token'] and not params['chat_id']:
        problems.append('telegram: bot_token is set but chat_id is not: no chat to post to')
    elif params['chat_id']:
        problem = check_token(params['bot_token']) or check_url(params['api_url'], 'api_url')
        if problem:
            problems.append('telegram: ' + problem)
    if params['slack_webhook_url']:
        problem = check_url(params['slack_webhook_url'], 'slack_webhook_url')
        if problem:
            # check_url may quote the URL, whose path is the secret: say only what is wrong with it.
            problems.append('slack: slack_webhook_url is not an http(s) URL')
    return problems


def send_telegram(params, text, redact):
    client = TelegramClient(params['bot_token'], api_url=params['api_url'], timeout=params['timeout'],
                            validate_certs=params['validate_certs'], max_retries=params['max_retries'],
                            max_retry_wait=params['max_retry_wait'], redactor=redact)
    message = client.call('sendMessage', {'chat_id': params['chat_id'], 'text': text,
                                          'disable_web_page_preview': True})
    message_id = message.get('message_id') if isinstance(message, dict) else None
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise TelegramError('sendMessage answered ok without a message id (malformed response)', kind='malformed')
    return message_id


def send_slack(params, text, redact):
    """POST the text to the webhook; Slack answers 200 "ok", or an error word (invalid_payload, no_service...)."""
    # The client joins base and path with "/": split the URL so the webhook's own path is posted to as is.
    url = urlsplit(params['slack_webhook_url'])
    path = url.path + ('?' + url.query if url.query else '')
    client = JSONAPIClient('%s://%s' % (url.scheme, url.netloc), 'Slack', redact, timeout=params['timeout'],
                           validate_certs=params['validate_certs'], max_retries=params['max_retries'],
                           max_retry_wait=params['max_retry_wait'])
    response = client.request('POST', path, json_body={'text': text})
    if 200 <= response.status < 300:
        return None
    raise APIError('Slack answered HTTP %s: %s' % (response.status, response.excerpt(redact) or '(empty body)'),
                   'api', status=response.status)


def main():
    argument_spec = dict(
        text=dict(type='str', required=True),
        chat_id=dict(type='str'),
        bot_token=dict(type='str', no_log=True, fallback=(env_fallback, ['TGOPS_NOTIFY_TELEGRAM_BOT_TOKEN'])),
        api_url=dict(type='str', default=DEFAULT_API_URL),
        slack_webhook_url=dict(type='str', no_log=True, fallback=(env_fallback, ['TGOPS_NOTIFY_SLACK_WEBHOOK_URL'])),
        redact=dict(type='list', elements='str', default=[], no_log=True),
        fail_on_problem=dict(type='bool', default=False),
    )
    argument_spec.update(http_argument_spec())
    argument_spec, bad_ints = guard_int_options(argument_spec)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    refuse_bad_ints(module, bad_ints)
    params = module.params
    redact = token_redactor(params['bot_token'], params['slack_webhook_url'], *params['redact'])
    if params['slack_webhook_url']:
        # The webhook's path is its credential, whether or not a message quotes the whole URL.
        redact.add(urlsplit(params['slack_webhook_url']).path)
    problem = check_http_params(params)
    if problem:
        module.fail_json(msg=redact(problem))
    if not params['text'] or not params['text'].strip():
        module.fail_json(msg='text is empty: Telegram refuses an empty message')

    text = message_text(params['text'], redact)
    problems = config_problems(params)
    channels = []
    if params['chat_id'] and not any(p.startswith('telegram:') for p in problems):
        channels.append('telegram')
    if params['slack_webhook_url'] and not any(p.startswith('slack:') for p in problems):
        channels.append('slack')
    configured = bool(params['chat_id'] or params['bot_token'] or params['slack_webhook_url'])

    sent = []
    for channel in channels:
        if module.check_mode:
            sent.append(dict(channel=channel, message_id=None))
            continue
        try:
            if channel == 'telegram':
                sent.append(dict(channel=channel, message_id=send_telegram(params, text, redact)))
            else:
                send_slack(params, text, redact)
                sent.append(dict(channel=channel, message_id=None))
        except (TelegramError, APIError) as exc:
            problems.append('%s: %s' % (channel, excerpt(exc.msg, redact, 600)))

    for problem in problems:
        module.warn(redact('incident notification: ' + problem))
    result = dict(changed=bool(sent), skipped=not configured, sent=sent, text=text, passed=not problems,
                  problems=[redact(p) for p in problems])
    if problems and params['fail_on_problem']:
        module.fail_json(msg='incident notification not delivered: ' + '; '.join(result['problems']), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
