# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's action plugins that do a module's work in the task's worker process (private).

This is a private plugin_utils (leading underscore): its interface may change without notice.

:class:`InProcessAction` is their one base: the task's arguments are validated with the module's own argument
spec (a value ansible-core's validation would crash on is refused by name first), :meth:`InProcessAction.act`
does the work, the result is masked with the values of the no_log options as AnsibleModule would, and failures
are returned, never raised, so that the task's ``failed_when`` decides. ``incident_notify`` (the channel message)
and ``incident_report_file`` (the report file) always work here, on the controller.

:class:`ControllerSideAction` is the API modules' (health_check, telegram_bot_info, ton_wallet_info,
pinata_auth_info): they only send HTTP requests, and delegated to the controller each would still be packed by
AnsiballZ and started in a new Python, about half a second a task, which the triage of every incident pays
several times per host. On the controller's own local connection the module's code runs here, through
:class:`ControllerModule` (the part of ``AnsibleModule`` these modules use); on any other connection (a remote
host, or ``become``) the module is shipped and run as usual, so where a check runs never changes. Action plugins
import only ``module_utils`` and this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.tgops.runbooks.plugins.module_utils._module import bad_int_message


def failure_result(exc):
    """An :class:`AnsibleActionFail` as a task result (``failed``, ``msg`` and what it carries).

    Action plugins return their failures instead of raising them: ansible-core evaluates a task's ``failed_when``
    (and ``changed_when``) only on a returned result - a raised failure ends the task whatever it says, even
    ``failed_when: false``.
    """
    return dict(exc.result, failed=True, msg=to_text(exc.message))


def overridable(result):
    """``result`` without a ``skipped`` key that is false: ansible-core skips ``failed_when`` and ``changed_when``
    for a result that has the key at all, so a failure with ``skipped: false`` could not be overridden."""
    if 'skipped' in result and not result['skipped']:
        del result['skipped']
    return result


class ModuleDone(Exception):
    """``exit_json``/``fail_json`` of :class:`ControllerModule`: the module's result, as AnsibleModule ends with it."""

    def __init__(self, result):
        super(ModuleDone, self).__init__('module done')
        self.result = result


class ControllerModule(object):
    """What the API modules use of ``AnsibleModule``, for running their code in an action plugin.

    ``params`` come validated from the module's own argument spec; ``no_log_values`` starts with the values of
    its no_log options and takes what the module adds, and every result is masked with it, as AnsibleModule does.
    """

    def __init__(self, params, check_mode, no_log_values):
        self.params = params
        self.check_mode = check_mode
        self.no_log_values = no_log_values  # shared with the action plugin, which masks the result with it
        self.warnings = []

    def warn(self, warning):
        self.warnings.append(warning)

    def exit_json(self, **result):
        result.setdefault('changed', False)
        raise ModuleDone(result)

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        raise ModuleDone(result)


class InProcessAction(ActionBase):
    """Base of the action plugins that do their module's work here. Subclasses give the module's AnsibleModule
    arguments (:meth:`module_spec`) and the work (:meth:`act`)."""

    _supports_check_mode = True

    MODULE = None

    @staticmethod
    def module_spec():
        """The module's AnsibleModule arguments (C(argument_spec), C(mutually_exclusive)...): the same function
        its ``main()`` builds its AnsibleModule from."""
        raise NotImplementedError

    def act(self, params, check_mode, diff, no_log_values):
        """The work, on validated ``params``: returns ``(result, warnings)``; a failure is a result with
        ``failed: true`` and a ``msg``. ``no_log_values`` (a set) masks the result; the work may add to it."""
        raise NotImplementedError

    def here(self):
        """Whether the work is done here; otherwise the module (``MODULE``) is shipped as usual."""
        return True

    def run(self, tmp=None, task_vars=None):
        result = super(InProcessAction, self).run(tmp, task_vars)
        del tmp
        if not self.here():
            result.update(self._execute_module(module_name=self.MODULE, module_args=self._task.args,
                                               task_vars=task_vars))
            return result
        spec = self.module_spec()
        problem = bad_int_message(self._task.args, spec['argument_spec'])
        if problem:
            result.update(failed=True, msg=problem)
            return result
        try:
            validation, params = self.validate_argument_spec(**spec)
        except AnsibleActionFail as exc:
            result.update(failure_result(exc))
            return result
        # What AnsibleModule does to a module's result: no value of a no_log option survives in it.
        no_log_values = set(validation._no_log_values)  # pylint: disable=protected-access
        outcome, warnings = self.act(params, bool(self._task.check_mode or self._play_context.check_mode),
                                     bool(self._task.diff), no_log_values)
        warnings = list(result.get('warnings') or []) + list(warnings)
        deprecations = [dict(msg=d['msg'], version=d.get('version'), collection_name=d.get('collection_name'))
                        for d in getattr(validation, '_deprecations', [])]
        if warnings:
            outcome['warnings'] = warnings
        if deprecations:
            outcome['deprecations'] = deprecations
        result.update(remove_values(overridable(outcome), no_log_values))
        return result


class ControllerSideAction(InProcessAction):
    """Base of the API modules' action plugins. Subclasses name the module and give its spec and body."""

    @staticmethod
    def run_module(module):
        """The module's body after AnsibleModule is built: ends with ``exit_json`` or ``fail_json``."""
        raise NotImplementedError

    def here(self):
        """True on the controller's own local connection without become: the module would run right here."""
        return getattr(self._connection, 'transport', None) == 'local' and not self._play_context.become

    def act(self, params, check_mode, diff, no_log_values):
        module = ControllerModule(params, check_mode, no_log_values)
        try:
            self.run_module(module)
            outcome = dict(failed=True, msg='%s ended without a result' % self.MODULE)
        except ModuleDone as done:
            outcome = done.result
        return outcome, module.warnings
