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
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Sends one message to the on-call channel - a Telegram chat through the Bot API C(sendMessage), a Slack
    incoming webhook, or both - for example "acknowledged" when an incident playbook starts and the outcome
    when it ends.
  - The text is sent as text - Telegram gets no C(parse_mode) (no HTML or Markdown), Slack gets C(&), C(<) and C(>)
    escaped as its formatting rules say (a C(<!channel>) or C(<http://evil|click>) in a log line is neither a
    mention nor a disguised link) and no link previews.
  - Cleanly off when no channel is configured (neither O(chat_id) nor O(slack_webhook_url)) - RV(skipped=true),
    nothing sent, no warning.
  - Every string in O(redact), and the bot token, are masked in the text before it leaves the machine, raw and
    URL-quoted, so a log line quoted in a message cannot carry a secret to the chat.
  - Runs on the controller - the collection's action plugin of the same name sends the message in the task's
    worker process, with no module shipped anywhere - so the task needs no C(delegate_to) V(localhost), and the
    environment variables E(TGOPS_NOTIFY_TELEGRAM_BOT_TOKEN) and E(TGOPS_NOTIFY_SLACK_WEBHOOK_URL) are read from
    the controller's environment. Executed as a module (without the action plugin), it does the same on the host
    it runs on.
  - A channel that refuses the message (rejected token, unknown chat, revoked Slack webhook, rate limit
    beyond the budget, unreachable API) is a problem - RV(passed=false), RV(findings) - and a warning; the task
    fails on it only with O(fail_on_problem=true), because a failed notification must not stop the incident
    response. A half-configured channel (a chat without a bot token, or the reverse) is a problem too.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.controller_only
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
  description:
    - V(true) when no channel is configured (nothing was sent, notifications are off).
    - Absent otherwise - ansible-core evaluates neither C(failed_when) nor C(changed_when) for a result that
      has the key, even when it is false.
  returned: when no channel is configured
  type: bool
  sample: true
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
findings:
  description: One sentence per channel that did not take the message; empty when RV(passed).
  returned: always
  type: list
  elements: str
  sample: ["telegram: sendMessage failed: Telegram answered 400: Bad Request: chat not found"]
"""


from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._notify import (  # pylint: disable=unused-import
    MAX_TEXT,  # re-exported: the message length limit, as callers and tests know it
    NotifyError,
    argument_spec,
    notify,
)


def main():
    module = new_module(argument_spec(), supports_check_mode=True)
    try:
        result, warnings = notify(module.params, module.check_mode)
    except NotifyError as exc:
        module.fail_json(msg=exc.msg)
    for warning in warnings:
        module.warn(warning)
    if result.pop('failed', False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
