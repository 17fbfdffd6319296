"""The integration leak test (tests/integration/test_no_secret_leak.py, which runs playbooks/secrets_vvv.yml at
-vvv and watches every process's arguments and environment) covers every module that takes or reads a secret:
each module with a no_log option, and those that read env files, vaults or logs, runs there on a success path
and on a failure (or problem) path. A new module with a secret option fails this test until it is added."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib
import os

import pytest
import yaml

from tgops_module_runner import module_argument_spec

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
PLAYBOOK = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'secrets_vvv.yml')
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                 if name.endswith('.py') and not name.startswith('_'))
# modules that read secrets without taking one as an option: env files, vaults, container and auth logs
READS_SECRETS = {'platform_info', 'env_file', 'secret_store', 'login_activity_info'}


def no_log_options(spec, prefix=''):
    found = []
    for name, option in spec.items():
        if option.get('no_log'):
            found.append(prefix + name)
        found.extend(no_log_options(option.get('options') or {}, prefix + name + '.'))
    return found


def secret_modules():
    found = {}
    for name in MODULES:
        module = importlib.import_module('ansible_collections.tgops.runbooks.plugins.modules.%s' % name)
        options = no_log_options(module_argument_spec(module))
        if options or name in READS_SECRETS:
            found[name] = options
    return found


def leak_test_tasks():
    """(module, has a failure/problem condition) for every tgops.runbooks task of the leak test's playbook."""
    with open(PLAYBOOK) as f:
        plays = yaml.safe_load(f)
    tasks = []
    for play in plays:
        for task in play['tasks']:
            for key in task:
                if key.startswith('tgops.runbooks.'):
                    tasks.append((key.split('.')[-1], 'failed_when' in task))
    return tasks


def test_the_secret_modules_are_found():
    found = secret_modules()
    # the obvious ones, so that a broken spec reader cannot make the next test pass vacuously
    assert found['backup_verify'] == ['login_password'] and 'bot_token' in found['telegram_bot_info']
    assert 'database.password' in found['platform_info']
    assert len(found) >= 19


@pytest.mark.parametrize('module', sorted(secret_modules()))
def test_every_module_that_takes_or_reads_a_secret_runs_in_the_leak_test_on_both_paths(module):
    runs = [failure for name, failure in leak_test_tasks() if name == module]
    assert runs, '%s takes or reads a secret (%s) but tests/integration/playbooks/secrets_vvv.yml never runs it' % (
        module, ', '.join(secret_modules()[module]) or 'reads one')
    assert False in runs, '%s has no success path in the leak test' % module
    assert True in runs, '%s has no failure path (a task with failed_when) in the leak test' % module
