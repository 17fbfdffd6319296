# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a module's ``main()`` in-process and get back what it exited with (every module's unit tests).

exit_json/fail_json are replaced so the test sees exactly what the module passed, before Ansible's own
no_log masking: a leak test on this result tests the module's redaction, not Ansible's.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible.plugins.action import ActionBase


class ModuleExit(Exception):
    def __init__(self, result):
        super(ModuleExit, self).__init__('module exited')
        self.result = result


def run_module(module, args, check_mode=False, diff=False, run_command=None, bin_paths=None):
    """``result`` dict (``failed`` set on fail_json, ``warnings`` collected). ``run_command`` replaces
    AnsibleModule.run_command (called with argv and environ_update); ``bin_paths`` answers get_bin_path."""
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    if diff:
        args['_ansible_diff'] = True
    warnings = []

    def exit_json(self, **kwargs):
        kwargs.setdefault('changed', False)
        kwargs['warnings'] = list(warnings)
        raise ModuleExit(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs['failed'] = True
        kwargs['msg'] = msg
        kwargs['warnings'] = list(warnings)
        raise ModuleExit(kwargs)

    def warn(self, warning):
        warnings.append(warning)

    patches = [
        patch_module_args(args),
        mock.patch.object(basic.AnsibleModule, 'exit_json', exit_json),
        mock.patch.object(basic.AnsibleModule, 'fail_json', fail_json),
        mock.patch.object(basic.AnsibleModule, 'warn', warn),
    ]
    if run_command is not None:
        def fake_run_command(self, argv, environ_update=None, **kwargs):
            return run_command(argv, environ_update=environ_update, **kwargs)
        patches.append(mock.patch.object(basic.AnsibleModule, 'run_command', fake_run_command))
    if bin_paths is not None:
        def get_bin_path(self, name, required=False, opt_dirs=None):
            return bin_paths.get(name, '/usr/bin/%s' % name)
        patches.append(mock.patch.object(basic.AnsibleModule, 'get_bin_path', get_bin_path))
    for patch in patches:
        patch.__enter__()
    try:
        module.main()
    except ModuleExit as exc:
        return exc.result
    finally:
        for patch in reversed(patches):
            patch.__exit__(None, None, None)
    raise AssertionError('module did not call exit_json or fail_json')


class _SpecCaptured(BaseException):
    """Raised from AnsibleModule.__init__; BaseException so that no module's ``except Exception`` catches it."""

    def __init__(self, argument_spec):
        super(_SpecCaptured, self).__init__('argument_spec captured')
        self.argument_spec = argument_spec


def module_argument_spec(module):
    """The argument_spec ``module.main()`` hands to AnsibleModule (nothing else of main() runs)."""
    def capture(self, argument_spec, **kwargs):
        raise _SpecCaptured(argument_spec)
    with mock.patch.object(basic.AnsibleModule, '__init__', capture):
        try:
            module.main()
        except _SpecCaptured as exc:
            return dict(exc.argument_spec)
    raise AssertionError('%s.main() did not build an AnsibleModule' % module.__name__)


def run_action(plugin, args, check_mode=False, diff=False, transport='local', become=False, execute_module=None):
    """The result of ``plugin.ActionModule.run`` for a task with ``args``, ActionBase.run stubbed.

    ``execute_module`` stands for ActionBase._execute_module (called with module_name, module_args and
    task_vars); without it, shipping a module fails the test."""
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    play_context = mock.MagicMock()
    play_context.check_mode = check_mode
    play_context.become = become
    connection = mock.MagicMock()
    connection.transport = transport
    action = plugin.ActionModule(task, connection, play_context, loader=None, templar=None, shared_loader_obj=None)
    ship = execute_module or mock.Mock(side_effect=AssertionError('no module may be shipped'))
    with mock.patch.object(ActionBase, 'run', return_value={}), mock.patch.object(action, '_execute_module', ship):
        return action.run(task_vars={})
