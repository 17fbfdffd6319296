# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What triage knows about a platform's host, and what it concludes (private to tgops.runbooks).

Everything here is pure: it takes what the module read (``docker inspect`` JSON, ``/proc`` text, an env
file, a directory listing, log text) and returns plain data, so each decision has a unit test. The module
``platform_info`` does the I/O.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import json

from ansible_collections.tgops.runbooks.plugins.module_utils._app_env import parse_env
from ansible_collections.tgops.runbooks.plugins.module_utils._compose import service_of


def container_states(inspect_docs, expected_services):
    """One entry per expected service from ``docker inspect`` documents of the project's containers.

    A service with several containers (replicas, or an old one left exited) is judged by its best one:
    a running container wins over an exited one, so a leftover does not hide a working service. A one-off
    container (``docker compose run``) is not the service (``_compose.service_of``): a running one no longer
    hides an exited service."""
    by_service = {}
    for doc in inspect_docs or []:
        if not isinstance(doc, dict):
            continue
        service = service_of(doc)
        if not service:
            continue
        state = doc.get('State') or {}
        health = (state.get('Health') or {}).get('Status') or ''
        entry = {
            'service': service,
            'container': (doc.get('Name') or '').lstrip('/'),
            'state': state.get('Status') or 'unknown',
            'health': health,
            'exit_code': state.get('ExitCode'),
            'restart_count': doc.get('RestartCount') or 0,
            'oom_killed': bool(state.get('OOMKilled')),
            'started_at': state.get('StartedAt'),
            'finished_at': state.get('FinishedAt'),
            'error': state.get('Error') or '',
        }
        best = by_service.get(service)
        if best is None or (best['state'] != 'running' and entry['state'] == 'running'):
            by_service[service] = entry
    out = []
    for service in expected_services:
        out.append(by_service.get(service) or {
            'service': service, 'container': '', 'state': 'missing', 'health': '', 'exit_code': None,
            'restart_count': 0, 'oom_killed': False, 'started_at': None, 'finished_at': None,
            'error': 'no container'})
    return out


def describe_service(entry):
    """A human line for a service that is not fine, or None when it is."""
    state = entry['state']
    if state == 'missing':
        return 'service %s has no container' % entry['service']
    if state != 'running':
        text = 'service %s is %s' % (entry['service'], state)
        if entry['exit_code'] not in (None, 0) or state == 'exited':
            text += ' (exit code %s)' % entry['exit_code']
        if entry['oom_killed']:
            text += ', killed by the kernel OOM killer'
        return text
    if entry['health'] == 'unhealthy':
        return 'service %s is running but unhealthy' % entry['service']
    return None


def parse_meminfo(text):
    """``/proc/meminfo`` -> total_mb, available_mb, used_percent (None when it cannot be read)."""
    values = {}
    for line in (text or '').splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(':') and parts[1].isdigit():
            values[parts[0][:-1]] = int(parts[1])
    total = values.get('MemTotal')
    available = values.get('MemAvailable')
    if not total or available is None:
        return None
    return {
        'total_mb': total // 1024,
        'available_mb': available // 1024,
        'used_percent': round((total - available) * 100.0 / total, 1),
    }


def parse_loadavg(text):
    """``/proc/loadavg`` -> {'1m', '5m', '15m'} floats, or None."""
    parts = (text or '').split()
    try:
        return {'1m': float(parts[0]), '5m': float(parts[1]), '15m': float(parts[2])}
    except (IndexError, ValueError):
        return None


def disk_usage(path, mount, statvfs):
    """One disk row from an ``os.statvfs`` result, as ``df`` counts it (blocks reserved for root are
    neither used nor available to the application, so used% is used / (used + available))."""
    total = statvfs.f_blocks * statvfs.f_frsize
    free = statvfs.f_bfree * statvfs.f_frsize
    avail = statvfs.f_bavail * statvfs.f_frsize
    used = total - free
    denominator = used + avail
    percent = round(used * 100.0 / denominator, 1) if denominator else 0.0
    inodes_percent = None
    if statvfs.f_files:
        inodes_used = statvfs.f_files - statvfs.f_ffree
        inodes_percent = round(inodes_used * 100.0 / statvfs.f_files, 1)
    return {'path': path, 'mount': mount, 'total_mb': total // 1048576, 'avail_mb': avail // 1048576,
            'used_percent': percent, 'inodes_used_percent': inodes_percent}


def env_names(text):
    """Names set in an env file, with whether each has a non-empty value (read as compose reads it: quotes, an
    inline comment). Never returns a value."""
    return dict((name, bool(value)) for name, value in parse_env(text).items())


def env_report(text, required):
    """present / missing / empty required names of an env file (names only)."""
    names = env_names(text)
    missing = [n for n in required if n not in names]
    empty = [n for n in required if n in names and not names[n]]
    return {'present': sorted(names), 'missing': missing, 'empty': empty}


def newest_backup(entries, pattern, now):
    """entries: (name, mtime, size) tuples of a directory. Returns count, newest, age_seconds, size."""
    matching = [e for e in entries if fnmatch.fnmatchcase(e[0], pattern)]
    if not matching:
        return {'count': 0, 'newest': None, 'age_seconds': None, 'size': None}
    name, mtime, size = max(matching, key=lambda e: (e[1], e[0]))
    return {'count': len(matching), 'newest': name, 'age_seconds': max(0, int(now - mtime)), 'size': size}


def error_lines(text, patterns, limit, redact, regexes=None):
    """The last ``limit`` lines of ``text`` that contain one of ``patterns`` (plain substrings) or, given
    ``regexes`` (compiled), that one of them matches, redacted, and how many matched in all."""
    matched = []
    count = 0
    for line in (text or '').splitlines():
        if any(r.search(line) for r in regexes) if regexes is not None else any(p in line for p in patterns):
            count += 1
            matched.append(line)
            if len(matched) > limit:
                matched.pop(0)
    return [redact(line.rstrip())[:2000] for line in matched], count


def parse_inspect(stdout):
    """``docker inspect`` output -> list of documents (empty on anything that is not a JSON list)."""
    try:
        docs = json.loads(stdout or '[]')
    except ValueError:
        return []
    return docs if isinstance(docs, list) else []


def findings(facts, thresholds):
    """The triage verdict: one line per thing wrong, in the order an on-call engineer reads them."""
    out = []
    unit = facts.get('unit')
    if unit and unit.get('active_state') not in ('active', None):
        out.append('systemd unit %s is %s (%s)' % (unit['name'], unit['active_state'], unit.get('sub_state')))
    for entry in facts.get('services', []):
        line = describe_service(entry)
        if line:
            out.append(line)
        elif entry['oom_killed']:
            out.append('service %s was killed by the OOM killer before its last start' % entry['service'])
        if entry['restart_count'] >= thresholds.get('restart_count_warn', 3):
            out.append('service %s restarted %d times' % (entry['service'], entry['restart_count']))
    database = facts.get('database')
    if database and database.get('checked') and not database.get('reachable'):
        out.append('database query failed: %s' % (database.get('error') or 'no answer'))
    redis = facts.get('redis')
    if redis and redis.get('checked') and not redis.get('reachable'):
        out.append('Redis PING failed: %s' % (redis.get('error') or 'no answer'))
    for row in facts.get('disk', []):
        if row.get('error'):
            out.append('disk usage of %s could not be read: %s' % (row['path'], row['error']))
        elif row['used_percent'] >= thresholds['disk_warn_percent']:
            out.append('disk %s (%s) is %s%% full, %d MB left' % (row['mount'], row['path'], row['used_percent'],
                                                                  row['avail_mb']))
        elif row['inodes_used_percent'] is not None and row['inodes_used_percent'] >= thresholds['disk_warn_percent']:
            out.append('disk %s has used %s%% of its inodes' % (row['mount'], row['inodes_used_percent']))
    memory = facts.get('memory')
    if memory and memory['used_percent'] >= thresholds['memory_warn_percent']:
        out.append('memory is %s%% used (%d MB available)' % (memory['used_percent'], memory['available_mb']))
    env = facts.get('env')
    if env:
        if not env.get('exists'):
            out.append('env file %s is missing' % env['file'])
        else:
            if env['missing']:
                out.append('required environment variables missing from %s: %s' % (env['file'], ', '.join(env['missing'])))
            if env['empty']:
                out.append('required environment variables empty in %s: %s' % (env['file'], ', '.join(env['empty'])))
    backups = facts.get('backups')
    if backups and backups.get('checked'):
        max_age = thresholds.get('backup_max_age_hours')
        if backups.get('error'):
            out.append('backups in %s could not be listed: %s' % (backups['dir'], backups['error']))
        elif not backups['count']:
            out.append('no backup matching %s in %s' % (backups['pattern'], backups['dir']))
        elif max_age and backups['age_seconds'] > max_age * 3600:
            out.append('newest backup %s is %.1f h old (more than %s h)' % (
                backups['newest'], backups['age_seconds'] / 3600.0, max_age))
    logs = facts.get('logs')
    if logs and logs.get('checked'):
        for failure in logs.get('failures', []):
            out.append('logs could not be read: %s' % failure)
        if logs.get('error_count'):
            out.append('%d ERROR/CRITICAL line(s) in the logs of the last %s' % (logs['error_count'], logs['since']))
    return out
