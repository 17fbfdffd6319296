# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket

from ansible.plugins.action import ActionBase


def controller_identity():
    """The controller's host name and the pid of the ansible-playbook run this worker belongs to.

    Task workers are forked from the ansible-playbook process, so a worker's parent is the run itself:
    the pid a second deploy's operator can look for on the controller.
    """
    return socket.gethostname(), os.getppid()


class ActionModule(ActionBase):
    """Fill O(controller) and O(pid) of tgops.runbooks.deploy_lock from the controller, where they are known."""

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if args.get('state', 'present') == 'present':
            controller, pid = controller_identity()
            if args.get('controller') in (None, ''):
                args['controller'] = controller
            if args.get('pid') in (None, ''):
                args['pid'] = pid
        result.update(self._execute_module(module_name='tgops.runbooks.deploy_lock', module_args=args,
                                           task_vars=task_vars))
        return result
