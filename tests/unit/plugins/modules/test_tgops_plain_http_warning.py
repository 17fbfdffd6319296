"""An API base URL over plain http:// to a host that is not loopback: the module's result carries a warning that
names the option, never the URL or a secret (the lab's emulators on 127.0.0.1 stay quiet)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
from unittest import mock

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.tgops.runbooks.plugins.module_utils import _http
from ansible_collections.tgops.runbooks.plugins.module_utils import _redact
from ansible_collections.tgops.runbooks.plugins.modules import pinata_auth_info, telegram_bot_info, ton_wallet_info

KEY = 'ton-api-key-0123456789abcdef'
TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw'
ADDRESS = '0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8'


def unreachable(*args, **kwargs):
    raise _http.TransportError('unreachable', 'connection refused')


def shipped_result(module, args, capsys):
    """What AnsibleModule itself returns (module_utils warnings included), no network: every request fails.
    As in a module's own process: tests that ran controller code before set is_controller (warnings then go to
    the controller's Display, as they do for an API module run in-process by its action plugin)."""
    warnings._global_warnings.clear()  # pylint: disable=protected-access
    with patch_module_args(args), mock.patch.object(_http, 'fetch', unreachable), \
            mock.patch.object(_internal, 'is_controller', False):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return out, json.loads(out)


@pytest.mark.parametrize('module, args, service', [
    (ton_wallet_info, dict(address=ADDRESS, api_key=KEY, api_url='http://ton.example.net/api/v2'), 'toncenter'),
    (telegram_bot_info, dict(bot_token=TOKEN, api_url='http://tg.example.net'), 'Telegram'),
    (pinata_auth_info, dict(jwt='eyJ' + KEY, api_url='http://pinata.example.net'), 'Pinata'),
])
def test_plain_http_to_another_host_warns_naming_the_option(module, args, service, capsys):
    out, result = shipped_result(module, args, capsys)
    assert result['failed']  # nothing answers here; the warning comes with the failure too
    # ansible-core 2.19 returns warnings as structured events
    assert any('api_url: %s API is reached over plain http:// at ' % service in json.dumps(w)
               for w in result['warnings']), result['warnings']
    assert KEY not in out and TOKEN.split(':')[1] not in out


def test_loopback_emulators_get_no_warning(capsys):
    dummy, result = shipped_result(ton_wallet_info, dict(address=ADDRESS, api_key=KEY,
                                                         api_url='http://127.0.0.1:18082/api/v2'), capsys)
    assert 'plain http' not in json.dumps(result.get('warnings', []))


def test_in_process_on_the_controller_the_warning_goes_to_the_display():
    """An API module run by its action plugin in the worker process warns on the controller's display."""
    from ansible.utils.display import Display
    with mock.patch.object(_internal, 'is_controller', True), mock.patch.object(Display, 'warning') as shown:
        _http.JSONAPIClient('http://ton.example.net/api/v2', 'toncenter', _redact.Redactor([KEY]))
    assert shown.call_args.kwargs['msg'].startswith('api_url: toncenter API is reached over plain http:// at '
                                                    'ton.example.net')
