# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket

from ansible.plugins.action import ActionBase

from ansible_collections.tgops.runbooks.plugins.module_utils import _release


def _read(path):
    try:
        with open(path, 'r') as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return ''


def process_of(pid, proc='/proc'):
    """``<boot id>/<pid namespace>/<start ticks>`` of a local pid; None when no such process runs.

    Whether the pid exists is asked of the kernel (kill 0: EPERM means it exists), which /proc mounted with
    hidepid cannot hide. The start time (field 22 of /proc/<pid>/stat, clock ticks since boot) tells a reused
    pid from the process that took the lock; where it cannot be read the part is empty and only "gone" counts.
    """
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    except (OSError, ValueError, OverflowError):
        return ''
    stat = _read(os.path.join(proc, str(pid), 'stat'))
    # The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    fields = stat.rsplit(')', 1)[-1].split() if stat else []
    return '%s/%s' % (here(proc), fields[19] if len(fields) > 19 else '')


def here(proc='/proc'):
    """This machine's boot id and this process's pid namespace: ``<boot id>/<pid namespace>``."""
    try:
        namespace = os.readlink(os.path.join(proc, 'self', 'ns', 'pid'))
    except OSError:
        namespace = ''
    return '%s/%s' % (_read(os.path.join(proc, 'sys', 'kernel', 'random', 'boot_id')), namespace)


def controller_identity():
    """The controller's host name and the pid of the ansible-playbook run this worker belongs to.

    Task workers are forked from the ansible-playbook process, so a worker's parent is the run itself:
    the pid a second run's operator can look for on the controller, and whose liveness this plugin checks.
    """
    return socket.gethostname(), os.getppid()


class ActionModule(ActionBase):
    """Run tgops.runbooks.deploy_lock with what only the controller knows.

    Fills O(controller), O(pid) and O(process) in; when the lock is held, judges here whether its holder
    (a run from this controller) is provably dead and, if so, asks the module to take it over.
    """

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        taking = args.get('state', 'present') == 'present'
        if taking:
            controller, pid = controller_identity()
            if args.get('controller') in (None, ''):
                args['controller'] = controller
            if args.get('pid') in (None, ''):
                args['pid'] = pid
            if args.get('process') in (None, '') and args['controller'] == controller and args['pid'] == pid:
                args['process'] = process_of(pid) or ''
        answer = self._execute_module(module_name='tgops.runbooks.deploy_lock', module_args=args,
                                      task_vars=task_vars)
        if taking and answer.get('held') and not args.get('dead_holder'):
            state, reason = _release.holder_state(answer.get('holder'), socket.gethostname(), process_of, here())
            if state == 'dead':
                args['dead_holder'] = answer['holder']
                answer = self._execute_module(module_name='tgops.runbooks.deploy_lock', module_args=args,
                                              task_vars=task_vars)
                if not answer.get('failed'):
                    answer.setdefault('warnings', []).append('the previous holder is gone: %s' % reason)
            else:
                # A fresh failure, so the error Ansible prints carries the verdict (not the module's first message).
                answer = dict(failed=True, changed=False, held=True, holder=answer.get('holder'), token=None,
                              warnings=answer.get('warnings', []),
                              msg='%s. Checked from this controller: %s' % (answer.get('msg', ''), reason))
        result.update(answer)
        return result
