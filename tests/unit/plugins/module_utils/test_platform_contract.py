"""The platform_* contract (module_utils/_platform_contract.py): each kind of problem is found and named, never
with a value; the shipped inventories meet it; it says what docs/platform-variables.md says."""

import glob
import os
import re
import sys

import pytest
import yaml

from ansible_collections.tgops.runbooks.plugins.module_utils import _platform_contract as contract
from ansible_collections.tgops.runbooks.plugins.module_utils._platform_contract import BROKEN, check, unknown

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'unit'))
from test_platform_reference import reference  # noqa: E402  pylint: disable=wrong-import-position

SECRET = 'pg-Secret-Pass-42'


def minimal(**more):
    """A platform that sets exactly what every platform must set."""
    values = dict((name, 'x') for name in contract.REQUIRED)
    values.update(platform_services=['postgres', 'bot'], platform_app_services=['bot'], platform_db_port=5432,
                  platform_db_password=SECRET, platform_backup_format='custom', platform_bot_mode='polling')
    values.update(more)
    return values


def test_a_platform_with_what_is_required_passes():
    assert check(minimal()) == []


@pytest.mark.parametrize('name', contract.REQUIRED)
def test_each_required_variable_is_named_when_missing_or_empty(name):
    values = minimal()
    del values[name]
    assert check(values) == ['%s is required and not set' % name]
    empty = [] if contract.TYPES[name] == contract.STRS else ''
    assert check(minimal(**{name: empty})) == ['%s is required and empty' % name]


@pytest.mark.parametrize('name, value, kind', [
    ('platform_db_port', [5432], 'list'),
    ('platform_db_port', True, 'bool'),
    ('platform_db_port', 'fifty', 'str'),
    ('platform_services', 'postgres', 'str'),
    ('platform_services', ['postgres', 5], 'list'),
    ('platform_nft_minting', 'maybe', 'str'),
    ('platform_nft_minting', 2, 'int'),
    ('platform_stats_queries', ['SELECT 1'], 'list'),
    ('platform_disk_max_percent', 'ninety', 'str'),
    ('platform_ton_min_balance', '1,5', 'str'),
    ('platform_db_password', 12345, 'int'),
])
def test_a_value_of_the_wrong_type_is_named_without_its_value(name, value, kind):
    (finding,) = check(minimal(**{name: value}))
    assert finding == '%s must be of type %s, not %s' % (name, contract.TYPES[name], kind)


@pytest.mark.parametrize('name, value', [
    ('platform_db_port', '5432'),  # a templated number arrives as text
    ('platform_disk_max_percent', 85),
    ('platform_disk_max_percent', '85.5'),
    ('platform_ton_min_balance', '0.5'),
    ('platform_redact', []),
    ('platform_systemd_unit', None),  # YAML's empty value: unset
    ('platform_proxy_resolves_upstream', 'false'),  # -e platform_x=false is text; the roles' `| bool` takes it
    ('platform_firewall_managed', 'yes'),
    ('platform_certbot_enabled', 0),
])
def test_values_the_roles_accept_pass(name, value):
    assert check(minimal(**{name: value})) == []


def test_an_unknown_platform_variable_is_a_warning_naming_it_not_a_finding():
    values = minimal(platform_db_nmae='tgquiz')
    assert check(values) == []
    assert unknown(values) == ['platform_db_nmae is not a platform variable (docs/platform-variables.md lists '
                               'them): a typo leaves the one meant at its default']
    assert unknown(minimal()) == []


def test_a_value_that_refers_to_an_undefined_variable_is_named_once():
    assert check(minimal(platform_db_password=BROKEN)) == [
        'platform_db_password refers to an undefined variable (a missing vault secret?)']


@pytest.mark.parametrize('name, value', [
    ('platform_service_manager', 'supervisord'), ('platform_bot_mode', 'push'), ('platform_backup_format', 'tar')])
def test_a_value_the_roles_refuse_is_named_with_the_allowed_ones(name, value):
    (finding,) = check(minimal(**{name: value}))
    assert finding == '%s must be one of %s, not %r' % (name, ', '.join(contract.CHOICES[name]), value)


@pytest.mark.parametrize('switch, on, needed', [
    ('platform_service_manager', 'systemd', ['platform_systemd_unit']),
    ('platform_bot_mode', 'webhook', ['platform_webhook_url']),
    ('platform_backup_offsite_enabled', True, ['platform_backup_hmac_key', 'platform_backup_s3_bucket']),
    ('platform_nft_minting', True, ['platform_ton_wallet_address']),
])
def test_what_a_feature_needs_is_required_only_with_the_feature(switch, on, needed):
    findings = check(minimal(**{switch: on}))
    assert findings == [f for f in findings if f.split(' ')[0] in needed] and len(findings) == len(needed)
    assert all(' is required when %s is ' % switch in f for f in findings)
    assert check(minimal(**dict([(switch, on)] + [(name, 'set') for name in needed]))) == []
    if on is True:  # -e platform_x=true is text
        assert check(minimal(**{switch: 'true'})) == findings
        assert check(minimal(**{switch: 'false'})) == []


def test_every_problem_is_named_at_once_and_no_value_is_shown():
    findings = check({'platform_name': 'tgquiz', 'platform_db_password': SECRET, 'platform_db_port': SECRET,
                      'platform_bot_mode': 'webhook', 'platform_typo': SECRET})
    assert len(findings) > 20 and not any(SECRET in f for f in findings + unknown({'platform_typo': SECRET}))


def _inventory(environment, platform):
    values = {}
    for path in sorted(glob.glob(os.path.join(ROOT, 'inventories', environment, 'group_vars', 'all', '*.yml'))) + \
            [os.path.join(ROOT, 'inventories', environment, 'group_vars', '%s.yml' % platform)]:
        with open(path, encoding='utf-8') as handle:
            try:
                data = yaml.safe_load(handle) or {}
            except yaml.constructor.ConstructorError:
                continue  # a vault file: its secrets are referenced as {{ vault_... }} below
        values.update((k, v) for k, v in data.items() if k.startswith('platform_'))
    return values


@pytest.mark.parametrize('environment', ['production', 'staging'])
@pytest.mark.parametrize('platform', ['tgquiz', 'toogoodtogo'])
def test_the_shipped_inventories_meet_the_contract(environment, platform):
    values = _inventory(environment, platform)
    assert values, 'no platform variables in inventories/%s' % environment
    # A string that is a template stands for its value: of the documented type once templated.
    typed = dict((k, v) for k, v in values.items() if not (isinstance(v, str) and '{{' in v))
    problems = [f for f in check(values) if f.split(' ')[0] in typed or 'required' in f]
    assert problems == []


def test_the_contract_says_what_the_reference_says():
    rows = reference(ROOT)
    assert dict((name, row['Type']) for name, row in rows.items()) == contract.TYPES
    with open(os.path.join(ROOT, 'docs', 'platform-variables.md'), encoding='utf-8') as handle:
        text = handle.read()
    section = text.split('## Required for every platform', 1)[1].split('Required only with a feature', 1)[0]
    assert sorted(re.findall(r'`(platform_\w+)`', section)) == sorted(contract.REQUIRED)
    for name in contract.REQUIRED:
        assert rows[name]['Default'].startswith('required'), name
    for name, allowed in contract.CHOICES.items():
        assert all('`%s`' % value in rows[name]['Meaning'] for value in allowed), name
