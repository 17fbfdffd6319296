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
    type: str
    default: https://api.telegram.org
notes:
  - Telegram answers C(404 Not Found), not C(401), for a wrong, doubled-prefix or nonexistent token; the module
    reports both as "token rejected".
"""
