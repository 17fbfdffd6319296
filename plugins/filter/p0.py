# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the P0 outage playbook reports (p0_outcome): the structure tgops.runbooks.incident_outcome reads, from
triage's verdict (triage_summary), the plan (p0_plan), the verdict after acting (p0_verdict) and the actions
recorded. P0 keeps its own flow; its report is written as the incident skeleton writes its own."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types


def _dict(value, name):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise AnsibleFilterError('p0_outcome: %s must be a dict or none, got %s' % (name, type(value).__name__))
    return value


def _list(value, name):
    if value is None:
        return []
    if not isinstance(value, list):
        raise AnsibleFilterError('p0_outcome: %s must be a list, got %s' % (name, type(value).__name__))
    return [to_text(item) for item in value]


def p0_outcome(read):
    """The P0 run's outcome, as far as it got.

    ``read`` keys, each none or absent when the run did not get there: ``triage`` (triage_summary), ``plan``
    (p0_plan), ``verdict`` (p0_verdict), ``actions`` (what the run recorded, incident_report's
    ``incident_report_done``), ``health_url`` and ``public_health_url`` (the platform's), ``version`` (what
    /health reported after acting).

    Resolved is the verdict's ``healthy``; the ``summary`` is the timeline's latest P0 sentence - the triage's
    findings before the verdict, the recovery once the verdict is healthy (empty while it is not)."""
    if not isinstance(read, dict):
        raise AnsibleFilterError('p0_outcome expects a dict (triage, plan, verdict, actions, health_url, ...)')
    triage = _dict(read.get('triage'), 'triage')
    plan = _dict(read.get('plan'), 'plan') or {}
    verdict = _dict(read.get('verdict'), 'verdict')
    actions = _list(read.get('actions'), 'actions')
    if triage is None:
        # No findings key: incident_outcome reports the run's "incomplete" sentence.
        return {'actions': actions, 'health_before': 'no answer', 'resolved': False, 'wait': False}
    findings = _list(triage.get('findings'), 'triage.findings')
    resolved = bool(verdict.get('healthy')) if verdict is not None else False
    if verdict is None:
        summary = 'Triage done: %d finding(s)%s' % (len(findings), (': ' + '; '.join(findings)) if findings else '')
    elif not resolved:
        summary = ''
    elif plan.get('act'):
        health_url = read.get('health_url')
        if not isinstance(health_url, string_types) or not health_url:
            raise AnsibleFilterError('p0_outcome: health_url must be the platform health URL')
        public = read.get('public_health_url') or ''
        summary = 'Service verified healthy on %s%s (version %s)' % (
            health_url, (' and %s' % public) if public else '', to_text(read.get('version') or 'unknown'))
    else:
        summary = 'Service healthy at triage on %s: nothing to do' % (
            read.get('public_health_url') or read.get('health_url'))
    return {
        'findings': findings,
        'errors': _list(triage.get('errors'), 'triage.errors'),
        'impacted': _list(triage.get('down'), 'triage.down') + _list(triage.get('unhealthy'), 'triage.unhealthy'),
        'actions': actions,
        'health_before': to_text(triage.get('health_status') or 'no answer'),
        'resolved': resolved,
        'summary': summary,
        # P0 waits for health itself (playbooks/tasks/p0_act.yml); nothing for the skeleton's wait to decide.
        'wait': False,
    }


class FilterModule(object):
    def filters(self):
        return {'p0_outcome': p0_outcome}
