# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The incident skeleton's one decision (role ``incident``): from the outcome a diagnosing role sets
(``<role>_outcome``) and the service's health, the report's fields, the timeline's sentences and the status.

Every incident playbook reads the same structure, so a severity, a check-mode line or the meaning of "Resolved"
is decided here once, not in each playbook."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types

# The keys a role's outcome may carry; anything else is a typo the report would silently drop.
_LISTS = ('findings', 'errors', 'impacted', 'actions', 'data_changed')
_TEXTS = ('health_before', 'health_after', 'summary', 'failure', 'no_findings')
_FLAGS = ('resolved', 'wait')
CHECK_MODE_LINE = 'Check mode: nothing was changed'


def _texts(value, name):
    if value is None:
        return []
    if isinstance(value, string_types) or not isinstance(value, (list, tuple)):
        raise AnsibleFilterError('incident_outcome: %s must be a list of sentences, got %s'
                                 % (name, type(value).__name__))
    return [str(item) for item in value if item is not None and str(item) != '']


def _text(value, name):
    if value is None:
        return ''
    if not isinstance(value, string_types):
        raise AnsibleFilterError('incident_outcome: %s must be a sentence, got %s' % (name, type(value).__name__))
    return value.strip()


def _flag(value, name):
    if isinstance(value, bool):
        return value
    if isinstance(value, string_types) and value.strip().lower() in ('true', 'false', 'yes', 'no'):
        return value.strip().lower() in ('true', 'yes')
    raise AnsibleFilterError('incident_outcome: %s must be true or false, got %r' % (name, value))


def incident_outcome(outcome, healthy=False, health_status=None, check_mode=False,
                     incomplete='diagnosis did not complete'):
    """The report's view of a role's outcome.

    ``outcome`` is what the role set (``{}`` or undefined-as-none when its diagnosis never finished); ``healthy``
    and ``health_status`` are the service_health role's verdict and the application's answer. "Resolved" needs both
    the role's ``resolved`` and a healthy service: a fixed cause behind a dead application is not resolved."""
    if outcome is None:
        outcome = {}
    if not isinstance(outcome, dict):
        raise AnsibleFilterError('incident_outcome: the outcome must be a dict, got %s' % type(outcome).__name__)
    unknown = sorted(set(outcome) - set(_LISTS + _TEXTS + _FLAGS))
    if unknown:
        raise AnsibleFilterError('incident_outcome: unknown outcome key(s) %s (known: %s)'
                                 % (', '.join(unknown), ', '.join(_LISTS + _TEXTS + _FLAGS)))
    diagnosed = 'findings' in outcome
    findings = _texts(outcome.get('findings'), 'findings') if diagnosed else [_text(incomplete, 'incomplete')]
    actions = _texts(outcome.get('actions'), 'actions')
    resolved = diagnosed and _flag(outcome.get('resolved', False), 'resolved') and _flag(healthy, 'healthy')
    status = _text(health_status, 'health_status') or 'no answer'
    after = _text(outcome.get('health_after'), 'health_after')
    summary = _text(outcome.get('summary'), 'summary')
    check_mode = _flag(check_mode, 'check_mode')
    wait = _flag(outcome.get('wait', bool(actions)), 'wait')
    return {
        'status': 'Resolved' if resolved else 'Investigating',
        'resolved': resolved,
        'findings': findings,
        'errors': _texts(outcome.get('errors'), 'errors'),
        'impacted': _texts(outcome.get('impacted'), 'impacted'),
        'actions': actions,
        # What the report's "Data loss" line lists: only a run that changed no data may say none was changed.
        'data_changed': _texts(outcome.get('data_changed'), 'data_changed'),
        'report_actions': actions + ([CHECK_MODE_LINE] if check_mode else []),
        'health_before': _text(outcome.get('health_before'), 'health_before') or 'unknown',
        'health_after': '%s; %s' % (status, after) if after else status,
        'diagnosis_event': 'Diagnosis: %s' % ('; '.join(findings) if findings else (
            _text(outcome.get('no_findings'), 'no_findings') or 'nothing wrong found')),
        'outcome_event': '%s; health %s' % (summary, status) if summary else 'Health %s' % status,
        # A restart or a start needs time to come up; a read-only run asks once.
        'health_timeout': 60 if wait and not check_mode else 5,
        'failure': '' if check_mode else _text(outcome.get('failure'), 'failure'),
    }


class FilterModule(object):
    def filters(self):
        return {'incident_outcome': incident_outcome}
