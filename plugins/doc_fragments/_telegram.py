# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Options of every module that talks to the Telegram Bot API.
    # Matches telegram_argument_spec() in plugins/module_utils/_telegram.py (with http_argument_spec()).
    DOCUMENTATION = r"""
options:
  bot_token:
    description:
      - The bot's token as issued by @BotFather, C(<bot id>:<secret>), without the C(bot) URL prefix.
      - When not set, the module reads the environment variable E(TELEGRAM_BOT_TOKEN) (of the module's process - the
        controller's for a task delegated to C(localhost), else set it with the task keyword C(environment)).
      - The shape is checked loosely before any request (numeric id without a leading zero, C(:), a secret of
        letters, digits, C(_) and C(-)); a malformed token fails without being echoed.
      - The token is part of every request URL. The module removes it, raw and URL-quoted (C(%3A) for C(:)),
        from every URL, error message and returned value.
    type: str
    required: true
  api_url:
    description:
      - Base URL of the Bot API server, without the C(/bot<token>) part.
      - Point it at a self-hosted C(telegram-bot-api) server or a test emulator.
      - Only V(http://) and V(https://) URLs are accepted.
    type: str
    default: https://api.telegram.org
notes:
  - A well-formed token that Telegram does not accept (revoked, or never issued) answers C(401 Unauthorized); the
    module fails with "token rejected". C(404 Not Found) means the Bot API server did not recognise the request
    path (a wrong O(api_url), or a token with a C(bot) prefix) and is reported as such, not as a rejected token.
  - An answer whose C(result) does not have the documented shape (for example C(getWebhookInfo) returning
    C(null), or a count that is not an integer) fails the task as a malformed response; it is never taken for
    "no webhook".
"""
