"""The deploy_lock action plugin names the controller and the run a lock holder is, and judges its liveness."""
import json
import os
import socket
import subprocess
import sys
from unittest import mock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.tgops.runbooks.plugins.action import deploy_lock
from ansible_collections.tgops.runbooks.plugins.modules import deploy_lock as deploy_lock_module

from tgops_module_runner import run_module


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


# The liveness check, end to end: the action plugin against the real module and real processes.

def take(path, calls=None):
    task = mock.MagicMock()
    task.args = {"path": str(path), "owner": "alice", "operation": "restore of tgquiznft_prod"}
    task.check_mode = False
    action = deploy_lock.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                                      shared_loader_obj=None)

    def execute_module(module_name, module_args, task_vars):
        if calls is not None:
            calls.append(dict(module_args))
        return run_module(deploy_lock_module, module_args)

    with mock.patch.object(ActionBase, "run", return_value={}), \
            mock.patch.object(action, "_execute_module", side_effect=execute_module):
        return action.run(task_vars={})


def held_by(path, pid, process, controller=None):
    record = dict(owner="carol", controller=controller or socket.gethostname(), pid=pid, process=process,
                  operation="deploy v1.2.0", time="2026-11-23T16:00:00Z", token="carols")
    path.write_text(json.dumps(record))


def finished_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = deploy_lock.process_of(child.pid)
    child.wait()
    return child.pid, identity


def test_a_dead_holder_on_this_controller_is_taken_over(tmp_path):
    pid, identity = finished_pid()
    held_by(tmp_path / "deploy.lock", pid, identity)
    calls = []
    result = take(tmp_path / "deploy.lock", calls)
    assert not result.get("failed") and result["changed"]
    assert any("pid %d is gone" % pid in w for w in result["warnings"])
    assert json.loads((tmp_path / "deploy.lock").read_text())["owner"] == "alice"
    assert len(calls) == 2 and calls[1]["dead_holder"]["pid"] == pid


def test_a_reused_pid_is_a_dead_holder(tmp_path):
    boot, namespace, start = deploy_lock.process_of(os.getpid()).split("/")
    held_by(tmp_path / "deploy.lock", os.getpid(), "%s/%s/%d" % (boot, namespace, int(start) - 1))
    result = take(tmp_path / "deploy.lock")
    assert not result.get("failed") and any("is now another process" in w for w in result["warnings"])


def test_a_live_holder_is_refused_and_named(tmp_path):
    held_by(tmp_path / "deploy.lock", os.getpid(), deploy_lock.process_of(os.getpid()))
    result = take(tmp_path / "deploy.lock")
    assert result["failed"] and "held by carol" in result["msg"] and "deploy v1.2.0" in result["msg"]
    assert "deploy_lock_break=true" in result["msg"] and "still running on controller" in result["msg"]
    assert json.loads((tmp_path / "deploy.lock").read_text())["owner"] == "carol"


def test_a_foreign_controller_holder_is_refused_even_when_its_pid_is_free_here(tmp_path):
    pid, identity = finished_pid()
    held_by(tmp_path / "deploy.lock", pid, identity, controller="ops-elsewhere")
    result = take(tmp_path / "deploy.lock")
    assert result["failed"] and "taken from controller ops-elsewhere" in result["msg"]
    assert json.loads((tmp_path / "deploy.lock").read_text())["owner"] == "carol"


def test_this_run_records_its_process_identity(tmp_path):
    result = take(tmp_path / "deploy.lock")
    record = json.loads((tmp_path / "deploy.lock").read_text())
    assert not result.get("failed") and record["pid"] == os.getppid()
    assert record["process"] == deploy_lock.process_of(os.getppid()) and record["process"].count("/") == 2
    assert record["operation"] == "restore of tgquiznft_prod"


def test_process_of_reads_the_start_time_after_the_command_name(tmp_path):
    proc = tmp_path / "proc"
    (proc / "sys" / "kernel" / "random").mkdir(parents=True)
    (proc / "sys" / "kernel" / "random" / "boot_id").write_text("b00t\n")
    (proc / "self" / "ns").mkdir(parents=True)
    os.symlink("pid:[42]", str(proc / "self" / "ns" / "pid"))
    (proc / str(os.getpid())).mkdir()
    fields = ["S"] + [str(n) for n in range(4, 23)]  # field 3 .. field 22 (start time = 22)
    (proc / str(os.getpid()) / "stat").write_text("%d (a b) c) %s 0 0\n" % (os.getpid(), " ".join(fields)))
    assert deploy_lock.process_of(os.getpid(), proc=str(proc)) == "b00t/pid:[42]/22"
