#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: telegram_bot_info
short_description: Check a Telegram bot's identity and webhook health
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Calls the Bot API methods C(getMe) and C(getWebhookInfo) for a bot token and returns the bot's identity
    and its webhook state (URL, pending updates, last delivery error).
  - Optional thresholds turn the answer into a health verdict (RV(passed), RV(findings)), for example to
    catch a webhook that fails delivery, a growing backlog, or a leftover webhook that blocks a polling bot
    with C(409 Conflict).
  - A rejected token (C(401 Unauthorized), revoked or never issued) always fails the task with "token rejected"; a
    C(404) (a request path the server does not recognise, such as a wrong O(api_url)) fails it as such.
  - A C(getMe) answer without a valid bot object, or a C(getWebhookInfo) answer of the wrong shape, fails the task
    as a malformed response; it never yields RV(passed=true).
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
  - tgops.runbooks._attributes.controller_side
  - tgops.runbooks._telegram
  - tgops.runbooks._http
  - tgops.runbooks._app_env
options:
  expect_webhook:
    description:
      - V(true) makes "no webhook is set" a problem (a webhook bot that receives nothing).
      - V(false) makes "a webhook is set" a problem (a polling bot that gets C(409 Conflict) from C(getUpdates)
        while a leftover webhook exists).
      - Unset, the webhook's presence is not judged, unless O(webhook_url) is set.
    type: bool
  webhook_url:
    description:
      - The URL the webhook of a webhook bot must have (the inventory's C(platform_webhook_url)). A webhook set to
        another URL, or none, is a problem (RV(webhook_wrong)). Implies O(expect_webhook=true); with
        O(expect_webhook=false) the task fails.
      - Compared with the URL Telegram holds before a bot token in it is masked in the result.
      - Unset or empty, any webhook URL will do.
    type: str
  max_pending_updates:
    description:
      - More pending updates than this is a problem (Telegram holds updates the bot has not received).
    type: int
  max_error_age:
    description:
      - A webhook delivery error (C(last_error_date)) more recent than this many seconds is a problem. Fractions
        allowed.
      - Unset, delivery errors are reported but not judged.
    type: float
  fail_on_problem:
    description:
      - Fail the task when RV(passed) is V(false); the message lists the problems.
      - By default the task succeeds and the caller decides what to do with RV(findings) (an C(_info) module
        reports; it fails on its verdict only when asked).
    type: bool
    default: false
seealso:
  - module: tgops.runbooks.telegram_webhook
  - name: Telegram Bot API getWebhookInfo
    description: Fields of the WebhookInfo object.
    link: https://core.telegram.org/bots/api#getwebhookinfo
"""

EXAMPLES = r"""
- name: Check the quiz bot, a polling bot that a leftover webhook would block
  tgops.runbooks.telegram_bot_info:
    bot_token: "{{ vault_tgquiz_bot_token }}"
    expect_webhook: false
  register: quiz_bot

- name: Show why polling is blocked
  ansible.builtin.debug:
    msg: "{{ quiz_bot.findings }}"
  when: not quiz_bot.passed

- name: Fail when the webhook bot's webhook is not the platform's, is failing deliveries or lags behind
  tgops.runbooks.telegram_bot_info:
    bot_token: "{{ vault_toogoodtogo_bot_token }}"
    webhook_url: https://bot.example.org/telegram/webhook
    max_pending_updates: 100
    max_error_age: 600
    fail_on_problem: true

- name: Check the token the running bot really uses (its env file on this host) and compare it with the vault's
  tgops.runbooks.telegram_bot_info:
    bot_token: "{{ vault_toogoodtogo_bot_token }}"
    app_env_file: /opt/toogoodtogo/deployment/.env.production
    app_env_names: {bot_token: TELEGRAM_BOT_TOKEN}
  register: running_bot

- name: Against a self-hosted Bot API server or an emulator
  tgops.runbooks.telegram_bot_info:
    bot_token: "{{ bot_token }}"
    api_url: http://127.0.0.1:18081
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
bot:
  description:
    - The bot's identity as returned by C(getMe). Optional fields appear when Telegram sends them.
  returned: success
  type: dict
  contains:
    id:
      description: The bot's user id (also the number before C(:) in the token).
      type: int
      sample: 123456789
    is_bot:
      description: Always V(true) for a bot.
      type: bool
      sample: true
    first_name:
      description: The bot's display name.
      type: str
      sample: Quiz Bot
    username:
      description: The bot's username, without C(@).
      type: str
      sample: tgquiz_bot
    can_join_groups:
      description: Whether the bot can be invited to groups.
      type: bool
      sample: true
    can_read_all_group_messages:
      description: Whether privacy mode is disabled.
      type: bool
      sample: false
    supports_inline_queries:
      description: Whether the bot supports inline queries.
      type: bool
      sample: false
webhook:
  description:
    - The webhook state from C(getWebhookInfo), with computed fields.
    - Fields Telegram omits (no webhook, no error yet, default setting) are V(null).
  returned: success
  type: dict
  contains:
    url:
      description: The webhook URL, V("") when none is set. A bot token inside it is masked.
      type: str
      sample: https://bot.example.org/telegram/webhook
    is_set:
      description: Whether a webhook is set.
      type: bool
      sample: true
    has_custom_certificate:
      description: Whether a self-signed certificate was uploaded for the webhook.
      type: bool
      sample: false
    pending_update_count:
      description: Updates Telegram holds that the bot has not received yet.
      type: int
      sample: 0
    ip_address:
      description: The IP address Telegram uses for the webhook host.
      type: str
      sample: 203.0.113.10
    max_connections:
      description: Maximum simultaneous HTTPS connections for delivery.
      type: int
      sample: 40
    allowed_updates:
      description: Update types the bot subscribed to; V(null) means Telegram's default set.
      type: list
      elements: str
      sample: [message, callback_query]
    last_error_date:
      description: Unix time of the last delivery error.
      type: int
      sample: 1763900000
    last_error_date_iso:
      description: RV(webhook.last_error_date) as ISO-8601 UTC.
      type: str
      sample: "2025-11-23T12:13:20Z"
    last_error_age:
      description: Seconds between RV(webhook.last_error_date) and now.
      type: int
      sample: 42
    last_error_message:
      description: What went wrong on the last delivery.
      type: str
      sample: "Wrong response from the webhook: 500 Internal Server Error"
    last_synchronization_error_date:
      description: Unix time of the last error synchronizing with Telegram's datacenters.
      type: int
      sample: 1763900000
    last_synchronization_error_date_iso:
      description: RV(webhook.last_synchronization_error_date) as ISO-8601 UTC.
      type: str
      sample: "2025-11-23T12:13:20Z"
passed:
  description: V(false) when at least one threshold option found a problem (the collection's verdict key).
  returned: success
  type: bool
  sample: false
findings:
  description: One human-readable sentence per problem found; empty when RV(passed).
  returned: success
  type: list
  elements: str
  sample:
    - "a webhook is set on a polling bot (getUpdates answers 409 Conflict): https://bot.example.org/hook, but none
       is expected (expect_webhook=false); delete it with tgops.runbooks.telegram_webhook state=absent"
webhook_expected:
  description:
    - Whether a webhook was expected (O(expect_webhook), V(true) when O(webhook_url) is set); V(null) when the
      webhook's presence was not judged.
  returned: success
  type: bool
  sample: true
webhook_expected_url:
  description: O(webhook_url), the URL the webhook was judged against; V("") when any URL would do.
  returned: success
  type: str
  sample: https://bot.example.org/telegram/webhook
webhook_wrong:
  description:
    - The module's verdict on a webhook bot - its webhook is not set, or set to another URL than O(webhook_url).
      A role reads this key (and RV(webhook_leftover)) to decide on re-setting the webhook, never the sentences.
  returned: success
  type: bool
  sample: false
webhook_leftover:
  description:
    - The module's verdict on a polling bot (O(expect_webhook=false)) - a webhook is set and blocks C(getUpdates).
  returned: success
  type: bool
  sample: false
findings_by_kind:
  description:
    - RV(findings) by what they are about, so a caller keeps the kinds it reports by key, never by their wording.
    - Every kind is always present, empty when nothing of it is wrong.
  returned: success
  type: dict
  version_added: 0.1.0
  contains:
    webhook:
      description:
        - The webhook against O(expect_webhook) and O(webhook_url) (set when none is expected, not set when one is,
          or set to another URL).
      type: list
      elements: str
    pending_updates:
      description: More updates pending than O(max_pending_updates).
      type: list
      elements: str
    delivery_error:
      description: A failed delivery more recent than O(max_error_age).
      type: list
      elements: str
    credentials:
      description:
        - With O(app_env_file), the application's token against O(bot_token) - different (the app runs with a token
          the vault does not hold), not set in the env file, or the env file unreadable.
      type: list
      elements: str
credentials_source:
  description:
    - V(app) when the calls used the token the application runs with (O(app_env_file) sets one), V(given) when they
      used O(bot_token).
  returned: success
  type: str
  sample: app
credentials_match:
  description:
    - With O(app_env_file), for each credential option (C(bot_token)) whether the application's value equals the
      given one - V(true), V(false), or null when either is missing. Empty without O(app_env_file). Never a value.
  returned: success
  type: dict
  sample: {bot_token: false}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tgops.runbooks.plugins.module_utils._module import run_api_module
from ansible_collections.tgops.runbooks.plugins.module_utils._telegram_bot_info import module_spec, run_module


def main():
    run_api_module(AnsibleModule, module_spec, run_module)


if __name__ == '__main__':
    main()
