"""The API modules' action plugins: on the controller's local connection the module's own code runs in the
worker process (same result as the module, secrets masked, options validated by its spec); anywhere else the
module is shipped as usual. Every action plugin imports only module_utils and plugin_utils, and those that do a
module's work in-process share one base."""

import ast
import importlib
import os
import types

import pytest

from ansible_collections.tgops.runbooks.plugins.action import (
    health_check as health_check_action,
    pinata_auth_info as pinata_action,
    telegram_bot_info as telegram_action,
    ton_wallet_info as ton_action,
)
from ansible_collections.tgops.runbooks.plugins.plugin_utils import _controller_side
from ansible_collections.tgops.runbooks.plugins.modules import (
    health_check,
    pinata_auth_info,
    telegram_bot_info,
    ton_wallet_info,
)

from tgops_fake_api import FakeTelegram, assert_no_secret
from tgops_module_runner import run_action as run_plugin, run_module

TOKEN = '5550001234:AAE_secretPartOfTheTokenXYZ-abcdefghi'
PINATA_KEY = 'a1b2c3d4e5f6a7b8c9d0'
PINATA_SECRET = 'sEcReT0123456789abcdef0123456789abcdef0123456789abcdef0123456789'
TON_KEY = 'f00dfeedc0ffee0123456789abcdef0123456789abcdef0123456789abcdef01'
ADDRESS = 'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N'
SECRETS = (TOKEN, PINATA_KEY, PINATA_SECRET, TON_KEY)


def run_action(plugin, args, transport='local', become=False):
    """``(result, shipped)``: the action's result and the module_args of every module it shipped."""
    shipped = []

    def execute_module(module_name=None, module_args=None, task_vars=None):
        shipped.append((module_name, module_args))
        return {'changed': False, 'shipped': True}

    result = run_plugin(plugin, args, transport=transport, become=become, execute_module=execute_module)
    assert_no_secret(result, *SECRETS)
    return result, shipped


def same_as_module(module, plugin, args):
    """Run both ways; the in-process result must be the module's (warnings aside: the runner always adds them)."""
    as_module = run_module(module, args)
    in_process, shipped = run_action(plugin, args)
    assert shipped == [], 'a module was shipped from the controller'
    as_module.pop('warnings', None)
    warnings = in_process.pop('warnings', None)
    for timing in ('elapsed_seconds',):  # measured, so never equal twice
        assert (timing in in_process) == (timing in as_module)
        in_process.pop(timing, None)
        as_module.pop(timing, None)
    assert in_process == as_module
    return in_process, warnings


def health_body(request):
    return 200, {'status': 'healthy', 'version': 'v1.2.3', 'platform': 'tgquiz'}


def test_health_check_in_process(api):
    api.route('/health', health_body)
    result, _warnings = same_as_module(health_check, health_check_action,
                                       dict(url=api.url + '/health', timeout=0))
    assert result['passed'] is True and result['version'] == 'v1.2.3' and result['attempts'] == 1
    # fail_on_problem: the failure comes back as the module's
    api.route('/down', (503, {'status': 'unhealthy'}))
    failed, _warnings = same_as_module(health_check, health_check_action, dict(url=api.url + '/down', timeout=0))
    assert failed['failed'] is True and 'is not healthy after 1 attempt(s)' in failed['msg']


def test_health_check_masks_the_password_of_its_url(api):
    api.route('/health', health_body)
    url = api.url.replace('http://', 'http://ops:Pw-in-url-9876@') + '/health'
    result, _shipped = run_action(health_check_action, dict(url=url, timeout=0))
    assert result['passed'] is True
    assert_no_secret(result, 'Pw-in-url-9876')


def test_telegram_bot_info_in_process(api):
    fake = FakeTelegram(api, TOKEN, username='quiz_bot')
    fake.webhook.update(url='https://old.example.org/hook')
    result, _warnings = same_as_module(telegram_bot_info, telegram_action,
                                       dict(bot_token=TOKEN, api_url=api.url, expect_webhook=False))
    assert result['bot']['username'] == 'quiz_bot'
    assert result['passed'] is False and '409 Conflict' in result['findings'][0]


def test_a_rejected_token_fails_without_the_token(api):
    api.route('/bot%s/getMe' % TOKEN, (401, {'ok': False, 'error_code': 401, 'description': 'Unauthorized'}))
    result, _warnings = same_as_module(telegram_bot_info, telegram_action, dict(bot_token=TOKEN, api_url=api.url))
    assert result['failed'] is True and result['token_rejected'] is True


def test_ton_wallet_info_in_process(api):
    api.route('/api/v2/getAddressInformation',
              (200, {'ok': True, 'result': {'balance': '250000000', 'state': 'active'}}))
    result, _warnings = same_as_module(ton_wallet_info, ton_action,
                                       dict(address=ADDRESS, api_key=TON_KEY, api_url=api.url + '/api/v2',
                                            min_balance_ton='0.5'))
    assert result['balance_ton'] == '0.25' and result['passed'] is False
    calls = api.calls('/api/v2/getAddressInformation')
    assert len(calls) == 2 and all(req.headers.get('X-API-Key') == TON_KEY for req in calls)  # module, then action


def test_an_invalid_ton_address_fails_before_any_request(api):
    result, _warnings = same_as_module(ton_wallet_info, ton_action,
                                       dict(address='EQ-not-an-address', api_url=api.url + '/api/v2'))
    assert result['failed'] is True and result['msg'].startswith('invalid TON address')
    assert api.calls('/api/v2/getAddressInformation') == []


def test_pinata_auth_info_in_process(api):
    api.route('/data/testAuthentication',
              (401, {'error': {'reason': 'INVALID_CREDENTIALS', 'details': 'key %s' % PINATA_KEY}}))
    result, _warnings = same_as_module(pinata_auth_info, pinata_action,
                                       dict(api_key=PINATA_KEY, api_secret=PINATA_SECRET, api_url=api.url))
    assert result['passed'] is False and result['message'] == 'key ********'


def failure(plugin, args):
    """The action's failure, returned (ansible-core applies a task's failed_when only to a returned one)."""
    result, shipped = run_action(plugin, args)
    assert result['failed'] is True and not shipped
    return result['msg']


def test_pinata_constraints_of_the_module_apply():
    assert 'parameters are required together: api_key, api_secret' in failure(
        pinata_action, dict(api_key=PINATA_KEY, api_url='http://127.0.0.1:9'))
    assert 'mutually exclusive' in failure(pinata_action,
                                           dict(jwt='a.b.c', api_key=PINATA_KEY, api_secret=PINATA_SECRET))


def test_options_are_validated_as_the_module_does():
    assert 'missing required arguments: url' in failure(health_check_action, dict(timeout=0))
    # ansible-core's int conversion would raise OverflowError on inf: refused with a message instead
    assert 'max_retries must be an integer, got inf' in failure(telegram_action, dict(bot_token=TOKEN,
                                                                                      max_retries=float('inf')))
    # timeout is seconds as a float (docs/module-vocabulary.md): inf is a float, refused by its bounds
    assert 'timeout must be between 1 and 86400 seconds, got inf' in failure(telegram_action, dict(
        bot_token=TOKEN, timeout=float('inf')))
    assert 'Unsupported parameters' in failure(ton_action, dict(address='EQx', bogus=1))


class _WithADeprecatedAlias(_controller_side.InProcessAction):
    """A plugin whose option has a deprecated alias (no module of the collection has one before its first
    release): what ansible-core's validation says of it reaches the task result, as AnsibleModule would report."""

    @staticmethod
    def module_spec():
        return dict(argument_spec=dict(limit=dict(type='int', aliases=['old_limit'], deprecated_aliases=[
            dict(name='old_limit', version='2.0.0', collection_name='tgops.runbooks')])))

    def act(self, params, check_mode, diff, no_log_values):
        return dict(changed=False, limit=params['limit']), []


def test_a_deprecated_alias_is_reported():
    result, _shipped = run_action(types.SimpleNamespace(ActionModule=_WithADeprecatedAlias), dict(old_limit=3))
    assert result['limit'] == 3 and not result.get('failed')
    assert [d['version'] for d in result['deprecations']] == ['2.0.0']


@pytest.mark.parametrize('transport,become', [('ssh', False), ('local', True)])
def test_elsewhere_the_module_is_shipped(transport, become):
    args = dict(bot_token=TOKEN, api_url='http://127.0.0.1:9')
    result, shipped = run_action(telegram_action, args, transport=transport, become=become)
    assert shipped == [('tgops.runbooks.telegram_bot_info', args)]
    assert result == {'changed': False, 'shipped': True}


ACTION_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'plugins', 'action')


@pytest.mark.parametrize('name', sorted(n[:-3] for n in os.listdir(ACTION_DIR) if n.endswith('.py')))
def test_action_plugins_import_only_module_utils_and_plugin_utils(name):
    """An action plugin never imports a module file: the module's code is in module_utils, where both use it."""
    with open(os.path.join(ACTION_DIR, name + '.py')) as handle:
        tree = ast.parse(handle.read())
    collection = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                  and (node.module or '').startswith('ansible_collections.tgops.runbooks.')]
    assert collection, name
    for module in collection:
        assert module.split('.')[4] in ('module_utils', 'plugin_utils'), (name, module)


@pytest.mark.parametrize('name', ['health_check', 'telegram_bot_info', 'ton_wallet_info', 'pinata_auth_info',
                                  'incident_notify', 'incident_report_file'])
def test_every_in_process_action_has_the_one_base(name):
    plugin = importlib.import_module('ansible_collections.tgops.runbooks.plugins.action.%s' % name)
    assert issubclass(plugin.ActionModule, _controller_side.InProcessAction)
    assert 'run' not in vars(plugin.ActionModule), 'the base runs it: validation, masking, returned failures'
