"""Secret rotation decisions: dotenv edits keep every other line, generation, request validation."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _rotation as r

AVAILABLE = {
    'db_password': {'env': 'POSTGRES_PASSWORD', 'vault': 'vault_t_postgres_password'},
    'secret_key': {'env': 'SECRET_KEY', 'vault': 'vault_t_secret_key'},
    'stripe_key': {'env': 'STRIPE_API_KEY', 'vault': 'vault_t_stripe_api_key'},
    'telegram_bot_token': {'env': 'TELEGRAM_BOT_TOKEN', 'vault': 'vault_t_bot_token'},
    'pinata_api_key': {'env': 'PINATA_API_KEY', 'vault': 'vault_t_pinata_api_key'},
    'pinata_secret_key': {'env': 'PINATA_SECRET_KEY', 'vault': 'vault_t_pinata_secret_key'},
}
TOKEN = '1234567890:' + 'A' * 35
CURRENT = {'db_password': 'p' * 32, 'secret_key': 'a' * 64, 'stripe_key': 'sk_test_' + 'x' * 24,
           'telegram_bot_token': TOKEN}
ENV = ('# toogoodtogo\n'
       'TELEGRAM_BOT_TOKEN=%s\n'
       '\n'
       'export POSTGRES_PASSWORD=old-password-0000\n'
       'SECRET_KEY="%s"   \n'
       'OTHER=value # comment\n'
       'POSTGRES_PASSWORD=old-password-0000\n' % (TOKEN, 'a' * 64))


def test_generated_db_password_is_32_url_safe_characters_and_new_each_time():
    values = set(r.generate('db_password') for _i in range(20))
    assert len(values) == 20
    assert all(re.match(r'^[A-Za-z0-9]{32}$', v) for v in values)


def test_generated_secret_key_is_32_bytes_hex():
    assert re.match(r'^[0-9a-f]{64}$', r.generate('secret_key'))


def test_issuer_made_secrets_are_never_generated():
    with pytest.raises(r.RotationError, match='issuer'):
        r.generate('stripe_key')


def test_set_values_replaces_every_assignment_and_keeps_every_other_line():
    new, changed = r.set_values(ENV, {'POSTGRES_PASSWORD': 'n' * 32})
    assert changed == ['POSTGRES_PASSWORD']
    old_lines, new_lines = ENV.splitlines(True), new.splitlines(True)
    assert len(old_lines) == len(new_lines)
    for before, after in zip(old_lines, new_lines):
        if 'POSTGRES_PASSWORD' in before:
            assert after.endswith('POSTGRES_PASSWORD=' + 'n' * 32 + '\n')
            assert after.startswith('export ') == before.startswith('export ')
        else:
            assert after == before
    assert r.parse(new)['POSTGRES_PASSWORD'] == 'n' * 32


def test_set_values_appends_an_absent_key_after_a_last_line_without_newline():
    new, changed = r.set_values('A=1', {'B': '2'})
    assert (new, changed) == ('A=1\nB=2\n', ['B'])


def test_same_value_in_another_quoting_is_no_change():
    new, changed = r.set_values(ENV, {'SECRET_KEY': 'a' * 64})
    assert (new, changed) == (ENV, [])


def test_values_that_need_quotes_are_quoted_and_read_back():
    for value in ('with space', 'has#hash', 'it"s', "it's"):
        new, _changed = r.set_values('X=1\n', {'X': value})
        assert r.parse(new)['X'] == value


@pytest.mark.parametrize('value', ['a\nb', 'a\rb', '\'both"'])
def test_values_an_env_file_cannot_hold_are_refused(value):
    with pytest.raises(ValueError):
        r.format_value(value)


def test_plan_orders_steps_and_generates_only_what_it_may():
    steps, values = r.plan(['db_password', 'secret_key'], AVAILABLE, True, {}, CURRENT)
    assert [s['name'] for s in steps] == ['secret_key', 'db_password']
    assert all(s['source'] == 'generated' for s in steps)
    assert values['db_password'] != CURRENT['db_password']
    assert re.match(r'^[0-9a-f]{64}$', values['secret_key'])


def test_plan_uses_a_supplied_value():
    steps, values = r.plan(['stripe_key'], AVAILABLE, True, {'stripe_key': 'sk_test_' + 'y' * 24}, CURRENT)
    assert steps[0]['source'] == 'provided' and values['stripe_key'] == 'sk_test_' + 'y' * 24


@pytest.mark.parametrize('requested, new, confirm, check_mode, message', [
    ([], {}, True, False, 'no secret selected'),
    (['db_password', 'db_password'], {}, True, False, 'once'),
    (['nope'], {}, True, False, 'unknown secret'),
    (['toncenter_api_key'], {'toncenter_api_key': 'k' * 64}, True, False, 'this platform has no toncenter_api_key'),
    (['pinata_api_key'], {'pinata_api_key': 'k'}, True, False, 'rotate them together'),
    (['db_password'], {'secret_key': 'b' * 64}, True, False, 'not selected: secret_key'),
    (['stripe_key'], {}, True, False, 'must come from the operator'),
    (['db_password'], {}, False, False, 'rotate_secrets_confirm=true'),
    (['stripe_key'], {'stripe_key': 'sk_test_' + 'x' * 24}, True, False, 'is the current one'),
    (['stripe_key'], {'stripe_key': 'sk_live_' + 'x' * 24}, True, False, 'live key but the current one is a test'),
    (['stripe_key'], {'stripe_key': 'pk_test_' + 'x' * 24}, True, False, 'not shaped like a Stripe'),
    (['telegram_bot_token'], {'telegram_bot_token': '999:' + 'B' * 35}, True, False, 'belongs to bot 999'),
    (['telegram_bot_token'], {'telegram_bot_token': 'nonsense'}, True, False, 'not shaped like a bot token'),
    (['secret_key'], {'secret_key': 'not-hex'}, True, False, '64 lowercase hex'),
    (['db_password'], {'db_password': 'Qz7Qz7Qz7'}, True, False, 'shorter than 16'),
    (['db_password'], {'db_password': ' spaced-password-long '}, True, False, 'whitespace'),
    # Ansible would template these when it reads the vault on the next run.
    (['db_password'], {'db_password': "Pw0{{ lookup('pipe', 'id') }}"}, True, False, 'contains "{{", which Ansible'),
    (['db_password'], {'db_password': 'Pw0Pw0Pw0Pw0{% raw %}x'}, True, False, 'contains "{%"'),
    (['stripe_key'], {'stripe_key': 'sk_test_{#' + 'x' * 24}, True, False, 'contains "{#"'),
])
def test_plan_refuses_requests_that_cannot_be_right(requested, new, confirm, check_mode, message):
    with pytest.raises(r.RotationError, match=re.escape(message)) as err:
        r.plan(requested, AVAILABLE, confirm, new, CURRENT, check_mode=check_mode)
    for value in list(new.values()) + list(CURRENT.values()):
        assert value not in str(err.value) or value in ('k',)


def test_check_mode_plans_without_confirmation():
    steps, _values = r.plan(['db_password'], AVAILABLE, False, {}, CURRENT, check_mode=True)
    assert [s['name'] for s in steps] == ['db_password']


def test_a_platform_entry_without_env_or_vault_is_refused():
    broken = dict(AVAILABLE, secret_key={'env': 'SECRET KEY', 'vault': 'v'})
    with pytest.raises(r.RotationError, match='platform_secrets.secret_key'):
        r.plan(['secret_key'], broken, True, {}, CURRENT)
