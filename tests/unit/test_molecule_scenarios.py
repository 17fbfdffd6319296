"""Every role that changes a host has a molecule scenario (issue 9), and every scenario tests what it should."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(os.listdir(os.path.join(ROOT, 'roles')))
SCENARIOS = sorted(d for d in os.listdir(os.path.join(ROOT, 'molecule'))
                   if os.path.exists(os.path.join(ROOT, 'molecule', d, 'molecule.yml')))
# Roles that change no managed host; docs/molecule.md says why for each.
READ_ONLY = {'incident', 'incident_report', 'network', 'service_health', 'triage'}


def _merge(base, over):
    """molecule's merge of a scenario's molecule.yml over the shared .config/molecule/config.yml."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(base[key], value) if isinstance(base.get(key), dict) and isinstance(value, dict) else value
    return out


with open(os.path.join(ROOT, '.config', 'molecule', 'config.yml')) as _handle:
    SHARED = yaml.safe_load(_handle)


def _scenario(name):
    with open(os.path.join(ROOT, 'molecule', name, 'molecule.yml')) as handle:
        text = handle.read()
    header = ' '.join(line.lstrip('# ') for line in text.splitlines() if line.startswith('#'))
    return header.lower(), _merge(SHARED, yaml.safe_load(text))


def test_the_shared_settings_live_once():
    """What every scenario has in common is in .config/molecule/config.yml, not copied into each molecule.yml."""
    assert SHARED['prerun'] is False and SHARED['driver']['options']['managed'] is False
    for name in SCENARIOS:
        with open(os.path.join(ROOT, 'molecule', name, 'molecule.yml')) as handle:
            own = yaml.safe_load(handle)
        assert 'driver' not in own and 'cfg' not in own.get('ansible', {}), name
        for key, value in (own.get('ansible', {}).get('env') or {}).items():
            assert SHARED['ansible']['env'].get(key) != value, '%s repeats the shared %s' % (name, key)


def test_every_role_that_changes_a_host_has_a_scenario():
    assert sorted(set(ROLES) - READ_ONLY - set(SCENARIOS)) == []
    assert READ_ONLY & set(SCENARIOS) == set(), 'a role listed as read-only has a scenario: update READ_ONLY'
    assert set(SCENARIOS) <= set(ROLES), 'a scenario named after no role'


def test_docs_list_every_role():
    with open(os.path.join(ROOT, 'docs', 'molecule.md')) as handle:
        rows = dict(re.findall(r'^\| `([a-z_]+)` \| (`molecule/[a-z_]+`|none) \|', handle.read(), re.M))
    assert sorted(rows) == ROLES
    for role in ROLES:
        assert rows[role] == ('none' if role in READ_ONLY else '`molecule/%s`' % role), role


@pytest.mark.parametrize('name', SCENARIOS)
def test_scenario_runs_the_whole_sequence_against_the_lab(name):
    header, config = _scenario(name)
    sequence = config['scenario']['test_sequence']
    # No `syntax` step: `check` parses the same playbook first, and ansible-lint syntax-checks molecule/ too.
    for step in ('prepare', 'check', 'converge', 'verify'):
        assert step in sequence, '%s: no %s step' % (name, step)
    assert sequence.index('check') < sequence.index('converge'), '%s: converge before its check-mode run' % name
    # A step left out is said in the header (an action that acts every run has no idempotence to test).
    if 'idempotence' not in sequence:
        assert 'idempotence' in header, '%s: no idempotence step and the header does not say why' % name
    if 'destroy' not in sequence:
        assert 'destroy' in header, '%s: no destroy step and the header does not say why' % name
    assert sequence.index('converge') < sequence.index('verify')
    assert config['driver']['options']['managed'] is False
    with open(os.path.join(ROOT, 'molecule', name, 'converge.yml')) as handle:
        converge = handle.read()
    assert 'name: tgops.runbooks.%s' % name in converge, '%s: converge does not include its role' % name
    with open(os.path.join(ROOT, 'molecule', name, 'verify.yml')) as handle:
        assert 'ansible.builtin.assert' in handle.read(), '%s: verify asserts nothing' % name
