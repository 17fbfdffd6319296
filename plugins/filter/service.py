# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The service playbook's report (the toogoodtogo runbook's "Service Management"): the action, the systemd unit's
state, every service's state and /health, from what the stack and service_health roles read (``service_report``)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError


def _dict(value, name):
    if not isinstance(value, dict):
        raise AnsibleFilterError('service_report: %s must be a dict, got %s' % (name, type(value).__name__))
    return value


def _given(read, key, empty):
    value = read.get(key)
    return empty if value is None else value


def service_report(read):
    """The report of one service.yml run.

    ``read`` keys: ``action`` (service_action), ``info`` (the stack role's stack_info, a platform_info result),
    ``status`` (stack_status) and ``health`` (service_health_result; empty when /health was not checked).
    Returns ``action``, ``unit``, ``services`` (service name to state), ``health`` and ``running`` (the services
    still running: after a stop, none may be)."""
    read = _dict(read, 'the input')
    info = _dict(_given(read, 'info', {}), 'info')
    status = _given(read, 'status', [])
    if not isinstance(status, list):
        raise AnsibleFilterError('service_report: status must be a list, got %s' % type(status).__name__)
    status = [_dict(entry, 'status[]') for entry in status]
    if 'unit' in info:
        unit = _dict(info['unit'], 'info.unit')
        unit = '%s %s (%s)' % (unit.get('name'), unit.get('active_state'), unit.get('sub_state'))
    else:
        unit = 'no systemd unit (compose)'
    return dict(action=read.get('action'), unit=unit,
                services=dict((entry.get('service'), entry.get('state')) for entry in status),
                health=_dict(_given(read, 'health', {}), 'health').get('status', 'not checked'),
                running=[entry.get('service') for entry in status if entry.get('state') == 'running'])


class FilterModule(object):
    def filters(self):
        return {'service_report': service_report}
