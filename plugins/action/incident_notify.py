# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.tgops.runbooks.plugins.module_utils._module import bad_int_message
from ansible_collections.tgops.runbooks.plugins.module_utils._notify import (
    NotifyError,
    argument_spec,
    notify,
)
from ansible_collections.tgops.runbooks.plugins.plugin_utils._controller_side import failure_result, overridable


class ActionModule(ActionBase):
    """Send tgops.runbooks.incident_notify's message from the controller, in the worker process.

    The module would be shipped through AnsiballZ and run by a new Python on the controller anyway (the role
    delegated it to localhost): doing the same job here costs a fraction of that. The options are validated
    with the module's own argument spec; the environment fallbacks read the controller's environment.
    """

    _supports_check_mode = True
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        spec = argument_spec()
        # Failures are returned, never raised, so that the task's failed_when decides (see failure_result).
        problem = bad_int_message(self._task.args, spec)
        if problem:
            result.update(failed=True, msg=problem)
            return result
        try:
            validation, params = self.validate_argument_spec(argument_spec=spec)
        except AnsibleActionFail as exc:
            result.update(failure_result(exc))
            return result
        # What AnsibleModule does to a module's result: no value of a no_log option survives in it.
        no_log_values = validation._no_log_values  # pylint: disable=protected-access
        try:
            outcome, warnings = notify(params, bool(self._task.check_mode or self._play_context.check_mode))
        except NotifyError as exc:
            outcome, warnings = dict(failed=True, msg=exc.msg), []
        if warnings:
            outcome['warnings'] = list(result.get('warnings') or []) + warnings
        result.update(remove_values(overridable(outcome), no_log_values))
        return result
