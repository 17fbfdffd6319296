# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decisions of the suspected-compromise playbook: which of a platform's secrets can be rotated now (the runbook's
"rotate ALL secrets"; names only, never values), and the firewall's state in words for the report."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.module_utils._rotation import KINDS, ORDER, PAIRS

# What the operator does at each issuer before a rotation can include its credential.
_ISSUER = {
    'telegram_bot_token': 'BotFather: /revoke, then the new token',
    'stripe_key': 'Stripe dashboard: roll the key',
    'pinata_api_key': 'Pinata: revoke the key, make a new pair',
    'pinata_secret_key': 'Pinata: revoke the key, make a new pair',
    'toncenter_api_key': 'toncenter: a new API key',
}


def compromise_rotation_plan(secrets, new_values=None):
    """``{rotate, pending, findings}``: every generated secret of the platform and every issuer-made one whose new
    value is given, in the rotation's order; the issuer-made ones still waiting for their issuer."""
    if not isinstance(secrets, dict):
        raise AnsibleFilterError('compromise_rotation_plan expects platform_secrets (a dict: name -> {env, vault})')
    new_values = new_values or {}
    if not isinstance(new_values, dict):
        raise AnsibleFilterError('compromise_rotation_plan: the new values must be a dict (secret name -> value)')
    unknown = sorted(set(secrets) - set(KINDS))
    if unknown:
        raise AnsibleFilterError('platform_secrets names secrets the rotation does not know: %s' % ', '.join(unknown))
    strays = sorted(set(new_values) - set(secrets))
    if strays:
        raise AnsibleFilterError('new values given for secrets this platform does not have: %s' % ', '.join(strays))
    rotate = [name for name in ORDER if name in secrets and (KINDS[name] == 'generated' or name in new_values)]
    # Half a pair cannot be rotated (its other half would no longer match): both wait.
    for pair in PAIRS:
        present = [name for name in pair if name in secrets]
        if any(name not in rotate for name in present):
            rotate = [name for name in rotate if name not in present]
    pending = [name for name in ORDER if name in secrets and name not in rotate]
    findings = ['%s not rotated: needs its issuer (%s); run again with rotate_secrets_new.%s'
                % (name, _ISSUER.get(name, 'its issuer'), name) for name in pending]
    return dict(rotate=rotate, pending=pending, findings=findings)


def firewall_summary(firewall):
    """``network_info``'s ``firewall`` result in words: ``ufw active, incoming deny (3 rules)``."""
    if not isinstance(firewall, dict) or not firewall:
        return 'firewall not read'
    if firewall.get('tool') != 'ufw':
        return 'no ufw on the host'
    if not firewall.get('active'):
        return 'ufw inactive (everything allowed)'
    rules = firewall.get('rules') or []
    plural = '' if len(rules) == 1 else 's'
    return 'ufw active, incoming %s (%d rule%s)' % (firewall.get('default_incoming') or 'unknown', len(rules), plural)


class FilterModule(object):
    def filters(self):
        return {'compromise_rotation_plan': compromise_rotation_plan, 'firewall_summary': firewall_summary}
