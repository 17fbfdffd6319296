# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decisions of the suspected-compromise playbook: which of a platform's secrets can be rotated now (the runbook's
"rotate ALL secrets"; names only, never values), the lockdown's rules for Docker-published ports and its verdict
from the probes, the firewall's state in words for the report, and what the report says of the run
(compromise_outcome, the structure tgops.runbooks.incident_outcome reads)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re

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


def firewall_summary(firewall, after=None):
    """``network_info``'s ``firewall`` result in words: ``ufw active, incoming deny (3 rules)``. ``after``: the
    registered read after the lockdown; when it ran, its firewall is the one described."""
    if isinstance(after, dict) and isinstance(after.get('firewall'), dict):
        firewall = after['firewall']
    if not isinstance(firewall, dict) or not firewall:
        return 'firewall not read'
    if firewall.get('tool') != 'ufw':
        return 'no ufw on the host'
    if not firewall.get('active'):
        return 'ufw inactive (everything allowed)'
    rules = firewall.get('rules') or []
    plural = '' if len(rules) == 1 else 's'
    return 'ufw active, incoming %s (%d rule%s)' % (firewall.get('default_incoming') or 'unknown', len(rules), plural)


# Docker's port publishing, as `iptables -t nat -S` prints it: `-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080
# -j DNAT --to-destination 172.17.0.2:80`.
_DNAT = re.compile(r'^-A \S+ .*-p (?P<proto>tcp|udp) .*--dport (?P<port>\d+)(?::\d+)? .*-j DNAT ')


def _port(value, what):
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if isinstance(value, bool) or not 1 <= port <= 65535:
        raise AnsibleFilterError('%s: %r is not a TCP port (1-65535)' % (what, value))
    return port


def _sources(values, what):
    """IPv4 networks as iptables writes them (DOCKER-USER is an IPv4 chain), or ``[None]`` for "any"."""
    if not isinstance(values, list) or not values:
        raise AnsibleFilterError('%s is empty: name the sources that keep SSH (platform_admin_sources), or say [any]'
                                 % what)
    if 'any' in values:
        return [None]
    networks = []
    for value in values:
        try:
            network = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise AnsibleFilterError('%s: %r is neither an address, a network nor "any"' % (what, value))
        if network.version == 4:
            networks.append(str(network))
    return networks


def compromise_docker_plan(nat_rules, ssh_port, ssh_from, keep_open=None, probe_ports=None):
    """The lockdown of Docker's published ports: ``{rules, published, probe_closed}``.

    Docker publishes a port with a DNAT rule in the nat table and accepts it in FORWARD, before anything ufw
    does; only the DOCKER-USER chain comes first. ``rules`` is that chain's content (iptables-restore lines):
    connections already open and traffic from the containers' own bridges go on; new connections to a published
    port are refused (tcp-reset: a client, or a proxy in front, learns at once) except SSH from ``ssh_from`` and
    the ``keep_open`` ports. ``published`` lists the DNAT'd TCP ports found in ``nat_rules``; ``probe_closed`` the
    ports a probe from outside must find closed (published ones and ``probe_ports``, neither SSH nor kept open)."""
    if not isinstance(nat_rules, str):
        raise AnsibleFilterError('compromise_docker_plan expects the text of `iptables -t nat -S`')
    ssh_port = _port(ssh_port, 'compromise_firewall_ssh_port')
    kept = sorted(set(_port(port, 'compromise_firewall_keep_open') for port in keep_open or []))
    extra = [_port(port, 'compromise_probe_ports') for port in probe_ports or []]
    sources = _sources(ssh_from, 'compromise_firewall_ssh_from')
    published = sorted(set(int(match.group('port')) for match in map(_DNAT.match, nat_rules.splitlines())
                           if match and match.group('proto') == 'tcp'))
    dnat = '-m conntrack --ctstate DNAT'
    rules = ['-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
             '-A DOCKER-USER -i docker0 -j RETURN',
             '-A DOCKER-USER -i br-+ -j RETURN']
    rules += ['-A DOCKER-USER %s-p tcp %s --ctorigdstport %d -j RETURN' % ('-s %s ' % src if src else '', dnat, ssh_port)
              for src in sources]
    rules += ['-A DOCKER-USER -p tcp %s --ctorigdstport %d -j RETURN' % (dnat, port) for port in kept]
    rules += ['-A DOCKER-USER -p tcp %s -j REJECT --reject-with tcp-reset' % dnat,
              '-A DOCKER-USER %s -j REJECT' % dnat,
              '-A DOCKER-USER -j RETURN']
    probe_closed = sorted(set(published + extra) - set(kept) - set([ssh_port]))
    return dict(rules=rules, published=published, probe_closed=probe_closed)


def compromise_lockdown_verdict(probes, ssh_port):
    """``{ok, open, ssh, summary}`` from the controller's probes (``[{port, open, detail}]``, SSH first expected
    open, every other one closed): the lockdown holds only when SSH answers and nothing else does."""
    if not isinstance(probes, list) or not all(isinstance(p, dict) and 'port' in p and 'open' in p for p in probes):
        raise AnsibleFilterError('compromise_lockdown_verdict expects the tcp_probe lookup\'s results')
    ssh_port = _port(ssh_port, 'compromise_firewall_ssh_port')
    ssh = [p for p in probes if p['port'] == ssh_port]
    still_open = sorted(p['port'] for p in probes if p['port'] != ssh_port and p['open'])
    ssh_ok = bool(ssh) and all(p['open'] for p in ssh)
    closed = sorted(p['port'] for p in probes if p['port'] != ssh_port and not p['open'])
    parts = []
    if still_open:
        parts.append('still answering from outside: %s' % ', '.join(str(p) for p in still_open))
    if not ssh_ok:
        seen = '; '.join(p.get('detail', '') for p in ssh) or 'not probed'
        parts.append('SSH (port %d) no longer answers: %s' % (ssh_port, seen))
    if not parts:
        shut = ', '.join(str(p) for p in closed) or 'no other port probed'
        parts.append('SSH (port %d) answers; closed from outside: %s' % (ssh_port, shut))
    return dict(ok=not still_open and ssh_ok, open=still_open, ssh=ssh_ok, summary='; '.join(parts))


def compromise_sessions_left(sessions):
    """The open SSH sessions from unknown sources (``login_activity_info``'s ``sessions``, not the one running the
    check), in words: what the lockdown leaves alive (established connections survive it)."""
    if not isinstance(sessions, list):
        raise AnsibleFilterError("compromise_sessions_left expects login_activity_info's sessions (a list)")
    return ['%s on %s from %s (sshd pid %s, since %s)'
            % (s.get('user'), s.get('tty'), s.get('source') or 'an unknown address', s.get('pid'), s.get('started'))
            for s in sessions if isinstance(s, dict) and not s.get('known') and not s.get('current')]


# The runbook's first step, said in every report of a suspected compromise whatever the run reached.
CONTACT = ('Contact the security team with this report; power the server off from the provider console if it need '
           'not stay online')
INCOMPLETE = 'evidence collection did not complete'


def _registered(value, name):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AnsibleFilterError('compromise_outcome: %s must be a registered result (a dict) or absent' % name)
    return value


def _sentences(value, name):
    if value is None:
        return None
    if not isinstance(value, list):
        raise AnsibleFilterError('compromise_outcome: %s must be a list of sentences' % name)
    return [str(item) for item in value]


def compromise_outcome(read):
    """The outcome (filter incident_outcome) of the compromise role, as far as the run got.

    ``read`` keys, each absent or none when the run did not get there: ``logins`` (login_activity_info's result),
    ``findings`` and ``actions`` (compromise_findings and compromise_actions), ``firewall_before`` (network_info's
    result before the lockdown). A suspected compromise is never resolved by a run: the security team decides."""
    if not isinstance(read, dict):
        raise AnsibleFilterError('compromise_outcome expects a dict (logins, findings, actions, firewall_before)')
    logins = _registered(read.get('logins'), 'logins')
    before = _registered(read.get('firewall_before'), 'firewall_before')
    findings = _sentences(read.get('findings'), 'findings')
    actions = _sentences(read.get('actions'), 'actions') or []
    summary = ''
    if 'logins' in logins:
        evidence = [str(f) for f in logins.get('findings') or []]
        summary = 'Evidence (%s, %d logins, %d open sessions): %s' % (
            logins.get('log') or 'no auth log', len(logins.get('logins') or []), len(logins.get('sessions') or []),
            '; '.join(evidence) if evidence else 'nothing suspicious found')
    return dict(
        findings=(findings if findings is not None else [INCOMPLETE]) + [CONTACT],
        errors=[], impacted=[], actions=actions,
        health_before=firewall_summary(before.get('firewall')),
        resolved=False, summary=summary, wait=False)


class FilterModule(object):
    def filters(self):
        return {'compromise_rotation_plan': compromise_rotation_plan, 'firewall_summary': firewall_summary,
                'compromise_docker_plan': compromise_docker_plan,
                'compromise_lockdown_verdict': compromise_lockdown_verdict,
                'compromise_sessions_left': compromise_sessions_left, 'compromise_outcome': compromise_outcome}
