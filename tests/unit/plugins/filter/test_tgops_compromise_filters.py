"""filters compromise_rotation_plan (generated secrets always, issuer-made ones only with a new value, pairs whole) and firewall_summary."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.compromise import compromise_rotation_plan, firewall_summary

TOOGOODTOGO = {name: {'env': name.upper(), 'vault': 'vault_' + name}
               for name in ('db_password', 'secret_key', 'telegram_bot_token', 'stripe_key')}
TGQUIZ = {name: {'env': name.upper(), 'vault': 'vault_' + name}
          for name in ('db_password', 'telegram_bot_token', 'pinata_api_key', 'pinata_secret_key', 'toncenter_api_key')}


def test_generated_secrets_rotate_and_issuer_made_ones_wait_for_their_issuer():
    plan = compromise_rotation_plan(TOOGOODTOGO)
    assert plan['rotate'] == ['secret_key', 'db_password']
    assert plan['pending'] == ['stripe_key', 'telegram_bot_token']
    assert plan['findings'][0] == ('stripe_key not rotated: needs its issuer (Stripe dashboard: roll the key); '
                                   'run again with rotate_secrets_new.stripe_key')


def test_a_given_new_value_joins_the_rotation_in_order():
    plan = compromise_rotation_plan(TOOGOODTOGO, {'telegram_bot_token': 'x', 'stripe_key': 'y'})
    assert plan['rotate'] == ['stripe_key', 'telegram_bot_token', 'secret_key', 'db_password']
    assert plan['pending'] == [] and plan['findings'] == []


def test_half_a_pinata_pair_is_not_rotated():
    assert compromise_rotation_plan(TGQUIZ, {'pinata_api_key': 'k'})['rotate'] == ['db_password']
    both = compromise_rotation_plan(TGQUIZ, {'pinata_api_key': 'k', 'pinata_secret_key': 's'})
    assert both['rotate'] == ['pinata_api_key', 'pinata_secret_key', 'db_password']
    assert both['pending'] == ['toncenter_api_key', 'telegram_bot_token']


def test_bad_input_is_refused_by_name():
    with pytest.raises(AnsibleFilterError, match='does not have: stripe_key'):
        compromise_rotation_plan(TGQUIZ, {'stripe_key': 'y'})
    with pytest.raises(AnsibleFilterError, match='does not know: ssh_key'):
        compromise_rotation_plan({'ssh_key': {}})
    with pytest.raises(AnsibleFilterError, match='expects platform_secrets'):
        compromise_rotation_plan(['db_password'])


def test_firewall_summary_in_words():
    assert firewall_summary({'tool': 'ufw', 'active': True, 'default_incoming': 'deny',
                             'rules': ['22/tcp ALLOW IN Anywhere']}) == 'ufw active, incoming deny (1 rule)'
    assert firewall_summary({'tool': 'ufw', 'active': False, 'default_incoming': None, 'rules': []}) == \
        'ufw inactive (everything allowed)'
    assert firewall_summary({'tool': 'none', 'active': False}) == 'no ufw on the host'
    assert firewall_summary({}) == 'firewall not read' and firewall_summary(None) == 'firewall not read'
