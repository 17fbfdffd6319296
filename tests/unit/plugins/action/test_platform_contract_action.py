"""The platform_contract action plugin templates the host's platform_* variables on the controller and judges
them; a value never appears in its result."""

from unittest import mock

from ansible.parsing.dataloader import DataLoader
from ansible.plugins.action import ActionBase
from ansible.template import Templar, trust_as_template

from ansible_collections.tgops.runbooks.plugins.action import platform_contract
from ansible_collections.tgops.runbooks.plugins.module_utils import _platform_contract as contract

SECRET = 'pg-Secret-Pass-42'


def host_vars(**more):
    values = dict((name, 'x') for name in contract.REQUIRED)
    values.update(platform_services=['bot'], platform_app_services=['bot'], platform_db_port=5432,
                  platform_backup_format='custom', platform_bot_mode='polling', vault_db_password=SECRET,
                  platform_db_password='{{ vault_db_password }}', inventory_hostname='tgquiz-lab', other_var=1)
    values.update(more)
    # What the inventory gives is trusted to be templated (ansible-core's data tagging); a literal string is not.
    return dict((k, trust_as_template(v) if isinstance(v, str) and '{{' in v else v) for k, v in values.items())


def run(task_vars, **args):
    task = mock.MagicMock()
    task.args = args
    action = platform_contract.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=DataLoader(),
                                            templar=Templar(loader=DataLoader(), variables=task_vars),
                                            shared_loader_obj=None)
    with mock.patch.object(ActionBase, 'run', return_value={}):
        return action.run(task_vars=task_vars)


def test_a_host_that_meets_the_contract_passes_without_a_connection():
    assert platform_contract.ActionModule._requires_connection is False
    result = run(host_vars())
    assert result == {'changed': False, 'passed': True, 'findings': [], 'checked': len(contract.REQUIRED)}


def test_a_reference_to_a_missing_secret_is_a_finding_and_the_task_fails_naming_the_host():
    result = run(host_vars(platform_db_password='{{ vault_missing }}', platform_db_port=[1]))
    assert result['failed'] is True and result['passed'] is False
    assert result['findings'] == ['platform_db_password refers to an undefined variable (a missing vault secret?)',
                                  'platform_db_port must be of type int, not list']
    assert result['msg'].startswith('The platform variables of tgquiz-lab break the contract')
    assert SECRET not in repr(result)


def test_templated_values_are_judged_by_what_they_become_and_never_returned():
    result = run(host_vars(platform_bot_mode='{{ "web" ~ "hook" }}', platform_webhook_url=''))
    assert result['findings'] == ['platform_webhook_url is required when platform_bot_mode is webhook']
    assert SECRET not in repr(result)


def test_an_unknown_variable_is_a_warning_and_the_task_goes_on():
    result = run(host_vars(platform_typo=SECRET))
    assert 'failed' not in result and result['passed'] is True and result['findings'] == []
    assert result['warnings'] == ['platform_typo is not a platform variable (docs/platform-variables.md lists '
                                  'them): a typo leaves the one meant at its default']
    assert SECRET not in repr(result)


def test_fail_on_problem_false_returns_the_findings_without_failing():
    result = run(host_vars(platform_db_port='{{ vault_db_password }}'), fail_on_problem=False)
    assert 'failed' not in result and result['passed'] is False
    assert result['findings'] == ['platform_db_port must be of type int, not str']
    assert SECRET not in repr(result)
    refused = run(host_vars(), fail_on_problem='maybe')
    assert refused['failed'] is True and 'fail_on_problem' in refused['msg'] and 'maybe' in refused['msg']
