# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the redis_memory role's relief did and what remains (the runbook's "Redis Memory Exhaustion": flushdb now,
raise maxmemory later), from the registered results of redis_memory_info and redis_keys."""

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


class FilterModule(object):
    def filters(self):
        return {'redis_memory_actions': redis_memory_actions}
