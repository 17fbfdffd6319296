# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The stack role's decisions: which services its up, restart and reload_proxy entry points act on, and how
(``stack_plan``), and what the run then records in ``stack_result`` (``stack_result``). The role only runs the
plan's tasks; the sentences here are the ones reports and integration tests read."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.six import string_types

ACTIONS = ('up', 'restart', 'reload_proxy')


def _dict(value, name, filter_name='stack_plan'):
    if not isinstance(value, dict):
        raise AnsibleFilterError('%s: %s must be a dict, got %s' % (filter_name, name, type(value).__name__))
    return value


def _list(read, key):
    value = read.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise AnsibleFilterError('stack_plan: %s must be a list, got %s' % (key, type(value).__name__))
    return value


def _bool(read, key, default):
    try:
        return boolean(read.get(key, default), strict=True)
    except TypeError:
        raise AnsibleFilterError('stack_plan: %s must be a boolean, got %r' % (key, read.get(key)))


def _text(read, key):
    value = read.get(key) or ''
    if not isinstance(value, string_types):
        raise AnsibleFilterError('stack_plan: %s must be a string, got %s' % (key, type(value).__name__))
    return value


def _result(started=None, restarted=None, reloaded=None, actions=None):
    return dict(started=started or [], restarted=restarted or [], reloaded=reloaded or [], actions=actions or [])


def _up(read, targets, down, systemd, unit):
    # Running services are left alone; a systemd stack whose unit is not active starts through its unit.
    start = [service for service in targets if service in down]
    unit_active = _bool(read, 'unit_active', True)
    via_unit = systemd and not unit_active
    how = ' (systemctl start %s)' % unit if via_unit else ''
    return dict(services=start, via_unit=via_unit, wait=_bool(read, 'wait', True),
                preview='Would start: %s%s' % (', '.join(start), how),
                result=_result(started=start, actions=['Started %s%s' % (
                    ', '.join(start), how or ' (docker compose up -d)')]))


def _restart(read, targets, services, systemd, unit):
    # The unit restarts the whole stack, so it is used only when every service is a target.
    via_unit = systemd and not [service for service in services if service not in targets]
    how = ' (systemctl restart %s)' % unit if via_unit else ' (quick restart)'
    # compose --dry-run cannot wait for containers it did not start.
    wait, check_mode = _bool(read, 'wait', True), _bool(read, 'check_mode', False)
    wait = wait and not check_mode
    return dict(services=targets, via_unit=via_unit, wait=wait,
                result=_result(restarted=targets, actions=['Restarted %s%s' % (', '.join(targets), how)]))


def _reload_proxy(read, down):
    proxy = _text(read, 'proxy')
    # A proxy that is down has nothing to reload (the up entry point starts it with a fresh resolution).
    reload_it = proxy not in down
    entries = [entry for entry in _list(read, 'status') if _dict(entry, 'status[]').get('service') == proxy]
    return dict(reload=reload_it,
                container=entries[0].get('container', '') if entries else '',
                result=_result(reloaded=[proxy], actions=['Reloaded %s (nginx -s reload)' % proxy])
                if reload_it else _result())


def stack_plan(read):
    """What one entry point of the stack role does.

    ``read`` keys: ``action`` (``up``, ``restart`` or ``reload_proxy``), ``services`` (stack_services),
    ``targets`` (stack_target_services: empty means every service), ``down`` (stack_down), ``service_manager``,
    ``unit`` (the systemd unit), ``unit_active`` (up), ``wait`` (up, restart), ``check_mode`` (restart),
    ``proxy`` and ``status`` (reload_proxy: stack_proxy_service, stack_status)."""
    read = _dict(read, 'the input')
    action = read.get('action')
    if action not in ACTIONS:
        raise AnsibleFilterError('stack_plan: action must be one of %s, got %r' % (', '.join(ACTIONS), action))
    services = _list(read, 'services')
    targets = _list(read, 'targets') or services
    down = _list(read, 'down')
    systemd = read.get('service_manager') == 'systemd'
    unit = _text(read, 'unit')
    if action == 'up':
        return _up(read, targets, down, systemd, unit)
    if action == 'restart':
        return _restart(read, targets, services, systemd, unit)
    return _reload_proxy(read, down)


def stack_result(read):
    """What ``stack_result`` records after a plan ran.

    ``read`` keys: ``plan`` (stack_plan's result) and, for an action that is skipped when nothing needs it (up),
    ``runs`` - the registered results of the tasks that act: the plan's result when one of them changed the host,
    else an empty one. Without ``runs`` the plan's result stands (restart and reload act every time)."""
    read = _dict(read, 'the input', 'stack_result')
    plan = _dict(read.get('plan'), 'plan', 'stack_result')
    if 'result' not in plan:
        raise AnsibleFilterError('stack_result: plan must be stack_plan\'s result (with result)')
    if 'runs' not in read:
        return plan['result']
    runs = read['runs']
    if not isinstance(runs, list):
        raise AnsibleFilterError('stack_result: runs must be a list of registered results, got %s'
                                 % type(runs).__name__)
    # As Ansible's `is changed` test: a skipped task registers changed=false.
    acted = any(_dict(run, 'runs[]', 'stack_result').get('changed', False) for run in runs)
    return plan['result'] if acted else _result()


class FilterModule(object):
    def filters(self):
        return {'stack_plan': stack_plan, 'stack_result': stack_result}
