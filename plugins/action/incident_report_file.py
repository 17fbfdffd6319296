# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tgops.runbooks.plugins.module_utils._report_file import (
    ReportFileError,
    argument_spec,
    write_report,
)
from ansible_collections.tgops.runbooks.plugins.plugin_utils._controller_side import InProcessAction


class ActionModule(InProcessAction):
    """Write tgops.runbooks.incident_report_file's file on the controller, in the worker process.

    Replaces ansible.builtin.file plus ansible.builtin.template delegated to localhost, which each shipped a
    module through AnsiballZ to the controller. The options are validated with the module's own argument spec.
    """

    _requires_connection = False

    @staticmethod
    def module_spec():
        return dict(argument_spec=argument_spec())

    def act(self, params, check_mode, diff, no_log_values):
        try:
            return write_report(params['path'], params['content'], params['mode'], params['directory_mode'],
                                check_mode=check_mode, diff=diff), []
        except ReportFileError as exc:
            return dict(failed=True, msg=exc.msg), []
