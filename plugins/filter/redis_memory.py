# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the redis_memory role's relief did and what remains (the runbook's "Redis Memory Exhaustion": flushdb now,
raise maxmemory later), from the registered results of redis_memory_info and redis_keys (``redis_memory_actions``),
and what the incident report says of the diagnosis and the relief (``redis_memory_outcome``)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tgops.runbooks.plugins.plugin_utils._results import ran as _ran


def redis_memory_actions(data):
    """The sentences for the flush (done, would be done, or waiting for its confirmation) and the long-term advice.

    ``data`` keys: ``before`` (redis_memory_info's result before), ``flushed`` (redis_keys' registered result,
    skipped or absent when not confirmed), ``after`` (redis_memory_info's result after the flush), ``db`` and
    ``check_mode``.
    """
    if not isinstance(data, dict):
        raise AnsibleFilterError('redis_memory_actions expects a dict (before, flushed, after, db, check_mode)')
    before = data.get('before')
    if not isinstance(before, dict) or 'maxmemory' not in before:
        raise AnsibleFilterError('redis_memory_actions: before must be redis_memory_info\'s result (with maxmemory)')
    try:
        maxmemory = float(before['maxmemory'] or 0)
    except (TypeError, ValueError):
        raise AnsibleFilterError('redis_memory_actions: before.maxmemory must be a number of bytes, got %r'
                                 % (before['maxmemory'],))
    db = to_text(data.get('db', 0))
    flushed = data.get('flushed')
    if _ran(flushed):
        after = data.get('after') if isinstance(data.get('after'), dict) else {}
        first = '%s Redis database %s (%s keys; FLUSHDB): memory now %s%% of maxmemory' % (
            'Would flush' if data.get('check_mode') else 'Flushed', db, to_text(flushed.get('keys_before', '?')),
            to_text(after.get('percent', '?')))
    else:
        first = 'Not flushing Redis database %s: confirm with -e redis_memory_flush_confirm=true' % db
    return [first, 'Long term: raise maxmemory (now %s MiB) in redis.conf or the Redis command line of the compose '
                   'file' % round(maxmemory / 1048576.0, 1)]


def _reading(value, name):
    if not isinstance(value, dict) or 'passed' not in value:
        raise AnsibleFilterError('redis_memory_outcome: %s must be redis_memory_info\'s result (with passed)' % name)
    return value


def _usage(reading):
    # redis_memory_info says null without a maxmemory (the old Jinja wrote "None% of maxmemory").
    percent = reading.get('percent', '?')
    return 'no maxmemory limit' if percent is None else '%s%% of maxmemory' % to_text(percent)


def redis_memory_outcome(read):
    """The incident skeleton's outcome (filter incident_outcome) of the redis_memory role.

    ``read`` keys: ``result`` (redis_memory_info's result of the diagnosis), ``service`` (the Redis service), and
    after the fix ``final`` (the last reading: after the flush, or the diagnosis's), ``flushed`` (redis_keys'
    registered result; skipped or absent when not confirmed or not needed), ``actions`` (redis_memory_actions'),
    ``db``, ``flush_confirm`` and ``check_mode``. Before the fix nothing is resolved: only the fix's last reading says
    Redis has room. A flush is data the run changed (the report's data line), never in check mode.
    """
    if not isinstance(read, dict):
        raise AnsibleFilterError('redis_memory_outcome expects a dict (result, service, final, flushed, ...)')
    result = _reading(read.get('result'), 'result')
    findings = result.get('findings') or []
    if not isinstance(findings, list):
        raise AnsibleFilterError('redis_memory_outcome: result.findings must be a list of sentences')
    outcome = {
        'findings': list(findings),
        'impacted': [] if result['passed'] else [to_text(read.get('service') or 'redis')],
        'health_before': '%s (%s)' % (_usage(result), to_text(result.get('maxmemory_policy', '?'))),
        'no_findings': 'Redis has room (%s)' % _usage(result),
        'resolved': False,
    }
    if read.get('final') is None:
        return outcome
    final = _reading(read['final'], 'final')
    flushed = read.get('flushed')
    outcome.update(
        actions=list(read.get('actions') or []),
        resolved=bool(final['passed']),
        # A flush makes the application reconnect and refill: give its health the minute a restart gets.
        wait=_ran(flushed) and bool(flushed.get('changed')),
        summary='Redis memory: %s' % _usage(final),
        data_changed=['Flushed Redis database %s (%s keys; FLUSHDB): the cached keys are gone, nothing keeps a copy'
                      % (to_text(read.get('db', 0)), to_text(flushed.get('keys_before', '?')))]
        if _ran(flushed) and flushed.get('changed') and not read.get('check_mode') else [])
    if not final['passed']:
        if read.get('flush_confirm'):
            way_out = 'FLUSHDB did not free enough: raise maxmemory.'
        else:
            way_out = 'Relieve it with -e redis_memory_flush_confirm=true (FLUSHDB of database %s).' % to_text(
                read.get('db', 0))
        outcome['failure'] = '%s. %s' % ('; '.join(to_text(f) for f in final.get('findings') or []), way_out)
    return outcome


class FilterModule(object):
    def filters(self):
        return {'redis_memory_actions': redis_memory_actions, 'redis_memory_outcome': redis_memory_outcome}
