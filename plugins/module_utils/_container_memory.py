# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Container and host memory, parsed and judged (private): the runbook's P2 "High Memory Usage" diagnosis
(``docker stats --no-stream``, ``free -h``) as pure functions."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.tgops.runbooks.plugins.module_utils._compose import service_of

# docker stats prints sizes with binary (KiB, MiB) and decimal (kB, MB) units.
_UNITS = {
    'b': 1, 'kb': 1000, 'mb': 1000 ** 2, 'gb': 1000 ** 3, 'tb': 1000 ** 4,
    'kib': 1024, 'mib': 1024 ** 2, 'gib': 1024 ** 3, 'tib': 1024 ** 4,
}
_SIZE = re.compile(r'^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$')


def parse_size(text):
    """``'35.97MiB'`` -> bytes (int). Raises ValueError on anything else."""
    match = _SIZE.match(text or '')
    if not match:
        raise ValueError('not a size: %r' % (text,))
    unit = match.group(2).lower() or 'b'
    if unit not in _UNITS:
        raise ValueError('unknown size unit in %r' % (text,))
    return int(round(float(match.group(1)) * _UNITS[unit]))


def parse_meminfo(text):
    """/proc/meminfo -> dict(total_bytes, available_bytes, used_percent)."""
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(':'):
            try:
                values[parts[0][:-1]] = int(parts[1]) * 1024
            except ValueError:
                continue
    if 'MemTotal' not in values or not values['MemTotal']:
        raise ValueError('/proc/meminfo has no MemTotal')
    total = values['MemTotal']
    available = values.get('MemAvailable', values.get('MemFree', 0))
    return dict(total_bytes=total, available_bytes=available,
                used_percent=round((total - available) * 100.0 / total, 1))


def container_rows(stats, inspected, host_total):
    """One dict per container from ``docker stats`` JSON lines and ``docker inspect`` objects.

    The limit is the container's own (HostConfig.Memory) or, without one, the host's memory, which is
    what the container can grow to."""
    by_id = {}
    for item in inspected:
        by_id[item.get('Id', '')[:12]] = item
    rows = []
    for line in stats:
        cid = (line.get('ID') or line.get('Container') or '')[:12]
        info = by_id.get(cid, {})
        usage = parse_size((line.get('MemUsage') or '').split('/')[0])
        own_limit = int((info.get('HostConfig') or {}).get('Memory') or 0)
        limit = own_limit or host_total
        rows.append(dict(
            name=line.get('Name') or info.get('Name', '').lstrip('/'),
            service=service_of(info),
            usage_bytes=usage,
            limit_bytes=limit,
            has_limit=bool(own_limit),
            used_percent=round(usage * 100.0 / limit, 1) if limit else 0.0,
            oom_killed=bool((info.get('State') or {}).get('OOMKilled')),
            restart_count=int(info.get('RestartCount') or 0),
        ))
    return sorted(rows, key=lambda r: -r['usage_bytes'])


def mib(value):
    return '%d MiB' % (value // (1024 * 1024))


def memory_findings(containers, host, container_warn_percent, host_warn_percent):
    findings = []
    for c in containers:
        label = c['service'] or c['name']
        if c['used_percent'] >= container_warn_percent:
            findings.append('container %s uses %s%% of its %s (%s of %s)'
                            % (label, c['used_percent'], 'memory limit' if c['has_limit'] else 'host memory',
                               mib(c['usage_bytes']), mib(c['limit_bytes'])))
        if c['oom_killed']:
            findings.append('container %s was killed for lack of memory (OOMKilled)' % label)
    if host['used_percent'] >= host_warn_percent:
        findings.append('host memory %s%% used (%s available of %s; warning at %s%%)'
                        % (host['used_percent'], mib(host['available_bytes']), mib(host['total_bytes']),
                           host_warn_percent))
    return findings


def over_threshold(containers, container_warn_percent):
    """Compose services of the containers at or above the threshold."""
    return sorted(set(c['service'] for c in containers if c['service'] and c['used_percent'] >= container_warn_percent))
