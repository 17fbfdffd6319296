# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleUndefinedVariable

from ansible_collections.tgops.runbooks.plugins.module_utils._platform_contract import (
    BROKEN, argument_spec, check, unknown)
from ansible_collections.tgops.runbooks.plugins.plugin_utils._controller_side import InProcessAction


class ActionModule(InProcessAction):
    """Judge the host's platform_* variables against the contract, on the controller (nothing goes to the host).

    The variables are templated here, one by one, so that one undefined vault secret is a finding about that
    variable and not an error that stops the check; their values never leave this method.
    """

    _requires_connection = False

    @staticmethod
    def module_spec():
        return dict(argument_spec=argument_spec())

    def run(self, tmp=None, task_vars=None):
        self._host_vars = task_vars or {}  # what act() judges: the base hands it validated options only
        return super(ActionModule, self).run(tmp, task_vars)

    def act(self, params, check_mode, diff, no_log_values):
        variables = {}
        for name in self._host_vars:
            if not name.startswith('platform_'):
                continue
            try:
                variables[name] = self._templar.template(self._host_vars[name])
            except AnsibleUndefinedVariable:
                variables[name] = BROKEN
        findings = check(variables)
        result = dict(changed=False, passed=not findings, findings=findings, checked=len(variables))
        if findings and params['fail_on_problem']:
            result.update(failed=True, msg='The platform variables of %s break the contract (docs/platform-variables.md):'
                                           ' %s' % (self._host_vars.get('inventory_hostname', 'the host'),
                                                    '; '.join(findings)))
        return result, unknown(variables)
