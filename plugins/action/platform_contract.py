# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleUndefinedVariable
from ansible.module_utils.common.validation import check_type_bool
from ansible.plugins.action import ActionBase

from ansible_collections.tgops.runbooks.plugins.module_utils._platform_contract import BROKEN, check, unknown


class ActionModule(ActionBase):
    """Judge the host's platform_* variables against the contract, on the controller (nothing goes to the host).

    The variables are templated here, one by one, so that one undefined vault secret is a finding about that
    variable and not an error that stops the check; their values never leave this method.
    """

    _requires_connection = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(('fail_on_problem',))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        try:
            fail_on_problem = check_type_bool(self._task.args.get('fail_on_problem', True))
        except TypeError:
            return dict(result, failed=True, msg='fail_on_problem must be a boolean')
        task_vars = task_vars or {}
        variables = {}
        for name in task_vars:
            if not name.startswith('platform_'):
                continue
            try:
                variables[name] = self._templar.template(task_vars[name])
            except AnsibleUndefinedVariable:
                variables[name] = BROKEN
        findings = check(variables)
        result.update(changed=False, passed=not findings, findings=findings, checked=len(variables))
        warnings = unknown(variables)
        if warnings:
            result['warnings'] = warnings
        if findings and fail_on_problem:
            result.update(failed=True, msg='The platform variables of %s break the contract (docs/platform-variables.md):'
                                           ' %s' % (task_vars.get('inventory_hostname', 'the host'), '; '.join(findings)))
        return result
