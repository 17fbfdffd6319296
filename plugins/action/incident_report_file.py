# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.tgops.runbooks.plugins.modules.incident_report_file import (
    ReportFileError,
    argument_spec,
    write_report,
)
from ansible_collections.tgops.runbooks.plugins.plugin_utils._controller_side import failure_result


class ActionModule(ActionBase):
    """Write tgops.runbooks.incident_report_file's file on the controller, in the worker process.

    Replaces ansible.builtin.file plus ansible.builtin.template delegated to localhost, which each shipped a
    module through AnsiballZ to the controller. The options are validated with the module's own argument spec.
    """

    _supports_check_mode = True
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        # Failures are returned, never raised, so that the task's failed_when decides (see failure_result).
        try:
            dummy, params = self.validate_argument_spec(argument_spec=argument_spec())
        except AnsibleActionFail as exc:
            result.update(failure_result(exc))
            return result
        check_mode = bool(self._task.check_mode or self._play_context.check_mode)
        diff = bool(self._task.diff)
        try:
            result.update(write_report(params['path'], params['content'], params['mode'], params['directory_mode'],
                                       check_mode=check_mode, diff=diff))
        except ReportFileError as exc:
            result.update(failed=True, msg=exc.msg)
        return result
