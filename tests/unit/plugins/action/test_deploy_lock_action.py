"""The deploy_lock action plugin names the controller and the ansible-playbook run a lock holder is."""
import os
import socket
from unittest import mock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.tgops.runbooks.plugins.action import deploy_lock


def run_action(args):
    task = mock.MagicMock()
    task.args = args
    task.check_mode = False
    action = deploy_lock.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                                      shared_loader_obj=None)
    sent = {}

    def execute_module(module_name, module_args, task_vars):
        sent.update(module_name=module_name, module_args=module_args)
        return {"changed": True}

    with mock.patch.object(ActionBase, "run", return_value={}), \
            mock.patch.object(action, "_execute_module", side_effect=execute_module):
        result = action.run(task_vars={})
    return sent, result


def test_taking_the_lock_names_this_controller_and_run():
    sent, result = run_action({"path": "/var/lib/app/deploy.lock", "owner": "alice"})
    assert sent["module_name"] == "tgops.runbooks.deploy_lock"
    assert sent["module_args"]["controller"] == socket.gethostname()
    # The worker's parent: the ansible-playbook process (here, pytest's parent of this process).
    assert sent["module_args"]["pid"] == os.getppid()
    assert result == {"changed": True}


@pytest.mark.parametrize("given", [{"controller": "ops1", "pid": 4242}])
def test_values_the_caller_gives_win(given):
    sent, _result = run_action(dict({"path": "/l", "owner": "alice"}, **given))
    assert sent["module_args"]["controller"] == "ops1"
    assert sent["module_args"]["pid"] == 4242


def test_releasing_sends_only_what_the_caller_gave():
    sent, _result = run_action({"path": "/l", "state": "absent", "token": "t"})
    assert sent["module_args"] == {"path": "/l", "state": "absent", "token": "t"}
