# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Options of the modules that check the credentials the application really runs with.
    # Matches ARGUMENT_SPEC in plugins/module_utils/_app_env.py.
    DOCUMENTATION = r"""
options:
  app_env_file:
    description:
      - The application's env file on the host the module runs on (the inventory's C(platform_env_file)).
      - When set, the module checks the credentials the application runs with - the values this file sets for the
        variables of O(app_env_names) - instead of the ones it was given, and reports for each whether the two are
        equal (RV(credentials_match)); a difference, a variable the file does not set or a file it cannot read is a
        finding. Values are never returned, logged or shown, only compared.
      - Without it the module checks the credentials it was given.
    type: path
  app_env_names:
    description:
      - "Which env file variable holds each credential option, for example C({bot_token: TELEGRAM_BOT_TOKEN})."
      - Defaults to the variables the runbooks' applications use for the module's credentials.
    type: dict
"""
