# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tgops.runbooks.plugins.module_utils._notify import NotifyError, argument_spec, notify
from ansible_collections.tgops.runbooks.plugins.plugin_utils._controller_side import InProcessAction


class ActionModule(InProcessAction):
    """Send tgops.runbooks.incident_notify's message from the controller, in the worker process.

    The module would be shipped through AnsiballZ and run by a new Python on the controller anyway (the role
    delegated it to localhost): doing the same job here costs a fraction of that. The options are validated
    with the module's own argument spec; the environment fallbacks read the controller's environment.
    """

    _requires_connection = False

    @staticmethod
    def module_spec():
        return dict(argument_spec=argument_spec())

    def act(self, params, check_mode, diff, no_log_values):
        try:
            return notify(params, check_mode)
        except NotifyError as exc:
            return dict(failed=True, msg=exc.msg), []
