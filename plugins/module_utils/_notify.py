# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The incident channel's message (private to tgops.runbooks): what tgops.runbooks.incident_notify does.

One plain function, :func:`notify`, used both by the module's ``main()`` (when the module is executed as a
module, through AnsiballZ) and by the collection's action plugin of the same name, which runs it in the
task's worker process on the controller. Delivery problems are never raised: they come back as
``findings`` and warnings; only invalid options raise :class:`NotifyError`.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback

from ansible_collections.tgops.runbooks.plugins.module_utils._http import (
    APIError,
    JSONAPIClient,
    check_http_params,
    check_url,
    http_argument_spec,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import excerpt
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

TOKEN_ENV = 'TGOPS_NOTIFY_TELEGRAM_BOT_TOKEN'
SLACK_ENV = 'TGOPS_NOTIFY_SLACK_WEBHOOK_URL'


class NotifyError(Exception):
    """An option the message cannot be sent with (the task fails). ``msg`` is redacted."""

    def __init__(self, msg):
        super(NotifyError, self).__init__(msg)
        self.msg = msg


def argument_spec():
    """The options of tgops.runbooks.incident_notify (module and action plugin alike)."""
    spec = dict(
        text=dict(type='str', required=True),
        chat_id=dict(type='str'),
        bot_token=dict(type='str', no_log=True, fallback=(env_fallback, [TOKEN_ENV])),
        api_url=dict(type='str', default=DEFAULT_API_URL),
        slack_webhook_url=dict(type='str', no_log=True, fallback=(env_fallback, [SLACK_ENV])),
        redact=dict(type='list', elements='str', default=[], no_log=True),
        fail_on_problem=dict(type='bool', default=False),
    )
    spec.update(http_argument_spec())
    return spec


def redactor(params):
    """Everything that must never leave the machine: the token, the webhook URL and its path, O(redact)."""
    redact = token_redactor(params.get('bot_token'), params.get('slack_webhook_url'), *(params.get('redact') or []))
    if params.get('slack_webhook_url'):
        # The webhook's path is its credential, whether or not a message quotes the whole URL.
        redact.add(urlsplit(params['slack_webhook_url']).path)
    return redact


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
        problems.append('telegram: chat_id is set but bot_token is not (nor %s)' % TOKEN_ENV)
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
    # No parse_mode: Telegram takes the text as plain text (no HTML or Markdown an attacker's words could use).
    message = client.call('sendMessage', {'chat_id': params['chat_id'], 'text': text,
                                          'disable_web_page_preview': True})
    message_id = message.get('message_id') if isinstance(message, dict) else None
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise TelegramError('sendMessage answered ok without a message id (malformed response)', kind='malformed')
    return message_id


def slack_escape(text):
    """Slack's control characters as its formatting rules say: ``&``, ``<`` and ``>`` become entities, so
    ``<!channel>``, ``<@U123>`` or ``<http://evil|click>`` in a message (from a log line, an alert, a host name)
    reach the channel as text, never as a mention or a disguised link."""
    return text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def send_slack(params, text, redact):
    """POST the text to the webhook; Slack answers 200 "ok", or an error word (invalid_payload, no_service...)."""
    # The client joins base and path with "/": split the URL so the webhook's own path is posted to as is.
    url = urlsplit(params['slack_webhook_url'])
    path = url.path + ('?' + url.query if url.query else '')
    client = JSONAPIClient('%s://%s' % (url.scheme, url.netloc), 'Slack', redact, timeout=params['timeout'],
                           validate_certs=params['validate_certs'], max_retries=params['max_retries'],
                           max_retry_wait=params['max_retry_wait'])
    # Escaped here, after the redaction and the cut: the masks and the cut see what the operator wrote. No unfurling:
    # Slack would fetch a link an attacker put in a log line.
    response = client.request('POST', path, json_body={'text': slack_escape(text), 'unfurl_links': False,
                                                       'unfurl_media': False})
    if 200 <= response.status < 300:
        return None
    raise APIError('Slack answered HTTP %s: %s' % (response.status, response.excerpt(redact) or '(empty body)'),
                   'api', status=response.status)


def notify(params, check_mode):
    """Send O(text) to the configured channels: ``(result, warnings)``.

    ``params`` are the validated options (every key of :func:`argument_spec`, environment fallbacks applied).
    ``result`` has the module's keys (changed, skipped, sent, text, passed, problems) and, when a channel did
    not take the message and O(fail_on_problem) is set, ``failed`` and ``msg``. Nothing in it, nor in the
    warnings, quotes a secret. Raises :class:`NotifyError` for options no message can be sent with.
    """
    redact = redactor(params)
    problem = check_http_params(params)
    if problem:
        raise NotifyError(redact(problem))
    if not params['text'] or not params['text'].strip():
        raise NotifyError('text is empty: Telegram refuses an empty message')

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
        if check_mode:
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

    warnings = [redact('incident notification: ' + problem) for problem in problems]
    result = dict(changed=bool(sent), skipped=not configured, sent=sent, text=text, passed=not problems,
                  findings=[redact(p) for p in problems])
    if problems and params['fail_on_problem']:
        result['failed'] = True
        result['msg'] = 'incident notification not delivered: ' + '; '.join(result['findings'])
    return result, warnings
