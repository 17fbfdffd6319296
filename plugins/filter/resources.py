# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``resources_memory_diagnosis`` and ``resources_queries_diagnosis``: the verdicts of runbooks P2 "High Memory
Usage" and "Slow Database Queries" from what the resources role read."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.tgops.runbooks.plugins.filter.platform_logs import shorten


def _dict(value, name, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AnsibleFilterError('%s: %s must be a dict, got %s' % (where, name, type(value).__name__))
    return value


def _kind(result, kind, where):
    """One kind of a postgres_activity_info result's findings_by_kind (empty when it has none)."""
    return _dict(result.get('findings_by_kind'), 'findings_by_kind', where).get(kind) or []


def resources_memory_diagnosis(read):
    """``read``: memory (container_memory_info), app_services, host_warn_percent, log_errors (platform_logs),
    log_since, db (postgres_activity_info) and redis (redis_memory_info), both registered with failed_when: false,
    redis_db."""
    where = 'resources_memory_diagnosis'
    read = _dict(read, 'the input', where)
    memory = _dict(read.get('memory'), 'memory', where)
    db = _dict(read.get('db'), 'db', where)
    redis = _dict(read.get('redis'), 'redis', where)
    logs = _dict(read.get('log_errors'), 'log_errors', where)
    over = memory.get('over_threshold') or []
    try:
        host_high = float(_dict(memory.get('host'), 'memory.host', where)['used_percent']) >= \
            float(read.get('host_warn_percent'))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('%s: memory.host.used_percent and host_warn_percent must be numbers (%s)'
                                 % (where, exc))
    keys = redis.get('keys')
    redis_keys = None if keys is None else int(keys.get('db%s' % to_text(read.get('redis_db', 0)), 0))

    findings = list(memory.get('findings') or [])
    if logs.get('count'):
        findings.append('%s memory, leak or slow-query line(s) in the application logs (last %s)'
                        % (logs['count'], to_text(read.get('log_since'))))
    if 'database_size_bytes' not in db:
        findings.append('cannot read the database size: %s' % to_text(db.get('msg', '')))
    findings.extend(_kind(db, 'database_size', where))
    if keys is None:
        findings.append('cannot read the Redis database size: %s' % shorten(redis.get('msg', 'unknown error')))
    # In the order of the platform's app services.
    over_threshold = [s for s in read.get('app_services') or [] if s in over]
    # option 1 restarts the services over the threshold, or all app services when the host is short
    restart_targets = over_threshold or (list(read.get('app_services') or []) if host_high else [])
    return dict(over_threshold=over_threshold, host_high=host_high, restart_targets=restart_targets,
                redis_keys=redis_keys, findings=findings)


def resources_queries_diagnosis(read):
    """``read``: queries (postgres_activity_info, registered with failed_when: false), db_name."""
    where = 'resources_queries_diagnosis'
    read = _dict(read, 'the input', where)
    queries = _dict(read.get('queries'), 'queries', where)
    # Connections are P1 database's: every other kind of finding is this section's.
    connections = _kind(queries, 'connections', where)
    findings = [f for f in queries.get('findings') or [] if f not in connections]
    if not queries.get('pg_stat_statements', True):
        findings.append('pg_stat_statements is not installed in %s: slow statements cannot be listed'
                        % to_text(read.get('db_name')))
    if 'tables' not in queries:
        findings.append('cannot read the database statistics: %s' % to_text(queries.get('msg', '')))
    return dict(findings=findings)


def _switch(read, name, where):
    try:
        return boolean(read.get(name, False))
    except TypeError as exc:
        raise AnsibleFilterError('%s: %s: %s' % (where, name, exc))


def _ran(result):
    """A registered result of a task that ran (not skipped)."""
    return isinstance(result, dict) and not result.get('skipped')


def _would(check_mode, done, would):
    return would if check_mode else done


def resources_memory_actions(read):
    """The memory remedies' actions. ``read``: restart_confirm, restart_targets, stack_actions (the stack role's
    actions), flushed (redis_keys), redis_db, vacuumed_full (postgres_maintenance), both maybe skipped, containers
    (container_memory_info), check_mode."""
    where = 'resources_memory_actions'
    read = _dict(read, 'the input', where)
    check_mode = _switch(read, 'check_mode', where)
    confirmed = _switch(read, 'restart_confirm', where)
    targets = [to_text(t) for t in read.get('restart_targets') or []]
    flushed = _dict(read.get('flushed'), 'flushed', where)
    vacuumed = _dict(read.get('vacuumed_full'), 'vacuumed_full', where)
    actions = []
    if targets and confirmed:
        actions.extend(['Would restart ' + ', '.join(targets)] if check_mode else
                       [to_text(a) for a in read.get('stack_actions') or []])
    if targets and not confirmed:
        actions.append('Not restarting %s: confirm with -e p2_memory_restart_confirm=true' % ', '.join(targets))
    if _ran(flushed):
        actions.append('%s Redis database %s (%s keys; FLUSHDB)'
                       % (_would(check_mode, 'Flushed', 'Would flush'), to_text(read.get('redis_db')),
                          to_text(flushed.get('keys_before', '?'))))
    if _ran(vacuumed):
        actions.append(_would(check_mode, 'Ran ', 'Would run ') + '; '.join(vacuumed.get('statements') or []))
    unlimited = [to_text(c.get('service')) for c in read.get('containers') or [] if not c.get('has_limit')]
    if targets and unlimited:
        actions.append('Containers without a memory limit: %s (runbook option 4: add deploy.resources.limits.memory '
                       'to the compose file)' % ', '.join(unlimited))
    return actions


def resources_query_actions(read):
    """The slow-query remedies' actions. ``read``: vacuumed and indexed (postgres_maintenance, maybe skipped),
    create_index (the index asked for), queries (postgres_activity_info), check_mode."""
    where = 'resources_query_actions'
    read = _dict(read, 'the input', where)
    check_mode = _switch(read, 'check_mode', where)
    vacuumed = _dict(read.get('vacuumed'), 'vacuumed', where)
    indexed = _dict(read.get('indexed'), 'indexed', where)
    queries = _dict(read.get('queries'), 'queries', where)
    ran = _would(check_mode, 'Ran ', 'Would run ')
    actions = []
    if _ran(vacuumed):
        actions.append(ran + '; '.join(vacuumed.get('statements') or []))
    if indexed.get('changed'):
        actions.append(ran + '; '.join(indexed.get('statements') or []))
    if _ran(indexed) and not indexed.get('changed'):
        index = _dict(read.get('create_index'), 'create_index', where)
        actions.append('Index %s already exists' % to_text(index.get('name')))
    if not _ran(vacuumed) and (queries.get('vacuum_tables') or queries.get('slow_statements')):
        actions.append('Not running VACUUM ANALYZE: confirm with -e p2_slow_queries_vacuum_confirm=true')
    seq = queries.get('seq_scan_tables') or []
    if not _ran(indexed) and seq:
        actions.append('Not creating an index for %s: name it with -e \'{"p2_slow_queries_create_index": {"name": ..., '
                       '"table": ..., "columns": [...]}}\' and confirm with -e p2_slow_queries_create_index_confirm=true'
                       % ', '.join(to_text(t.get('table')) for t in seq))
    return actions


class FilterModule(object):
    def filters(self):
        return {'resources_memory_diagnosis': resources_memory_diagnosis,
                'resources_queries_diagnosis': resources_queries_diagnosis,
                'resources_memory_actions': resources_memory_actions,
                'resources_query_actions': resources_query_actions}
