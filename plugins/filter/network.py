# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The network role's report (the toogoodtogo runbook's "Network Connectivity Loss" edge case): from network_info's
reading on the host, triage's summary of the platform and the proxy start, what the incident report says
(``network_outcome``). The network itself (provider, routes, DNS, firewall rules) is only reported, never changed."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text


def _dict(value, name):
    if not isinstance(value, dict):
        raise AnsibleFilterError('network_outcome: %s must be a dict, got %s' % (name, type(value).__name__))
    return value


def _sentences(value, name):
    if value is None:
        return []
    if not isinstance(value, list):
        raise AnsibleFilterError('network_outcome: %s must be a list, got %s' % (name, type(value).__name__))
    return [to_text(item) for item in value]


def _firewall(firewall):
    """One sentence for network_info's firewall reading (ufw status verbose)."""
    if firewall.get('tool') != 'ufw':
        return 'no ufw on the host'
    if not firewall.get('active'):
        return 'ufw inactive'
    return 'ufw active, incoming %s by default, %d rule(s)' % (
        to_text(firewall.get('default_incoming') or '?'), len(_sentences(firewall.get('rules'), 'firewall.rules')))


def network_outcome(read):
    """The incident skeleton's outcome (filter incident_outcome) of the network role.

    ``read`` keys: ``network`` (network_info's result), ``triage`` (triage_summary's result: findings, down), and
    after the fix ``start`` (the stack role's stack_result of the proxy start: its ``actions``; empty or absent when
    nothing was started).
    The cause is gone when every URL answers from the host: nothing here changes the network, so the diagnosis
    decides it, and while a URL does not answer the run fails naming it."""
    read = _dict(read, 'the input')
    network = _dict(read.get('network'), 'network')
    if 'passed' not in network:
        raise AnsibleFilterError('network_outcome: network must be network_info\'s result (with passed)')
    triage = _dict(read.get('triage') or {}, 'triage')
    unreachable = _sentences(network.get('findings'), 'network.findings')
    firewall = _firewall(_dict(network.get('firewall') or {}, 'network.firewall'))
    passed = bool(network['passed'])
    outcome = dict(
        findings=unreachable + _sentences(triage.get('findings'), 'triage.findings') + ['firewall: ' + firewall],
        impacted=_sentences(triage.get('down'), 'triage.down'),
        resolved=passed,
        summary='Every API answers from the host' if passed else 'The host still cannot reach %d URL(s)'
        % len(unreachable))
    if not passed:
        outcome['failure'] = ('%s. Check the provider\'s network status, the host\'s routes and DNS, and the firewall '
                              '(%s).' % ('; '.join(unreachable), firewall))
    if 'start' in read:
        outcome['actions'] = _sentences(_dict(read['start'] or {}, 'start').get('actions'), 'start.actions')
    return outcome


class FilterModule(object):
    def filters(self):
        return {'network_outcome': network_outcome}
