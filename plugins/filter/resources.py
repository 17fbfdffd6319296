# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``resources_memory_diagnosis`` and ``resources_queries_diagnosis``: the verdicts of runbooks P2 "High Memory
Usage" and "Slow Database Queries" from what the resources role read; ``resources_memory_actions`` and
``resources_query_actions``: what their remedies did; ``resources_memory_outcome`` and ``resources_queries_outcome``:
what the incident skeleton reports of them."""

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


def _actions(read, where):
    actions = read.get('actions')
    if actions is not None and not isinstance(actions, list):
        raise AnsibleFilterError('%s: actions must be a list of sentences, got %s' % (where, type(actions).__name__))
    return actions


def _host_used(memory):
    return to_text(_dict(memory.get('host'), 'host', 'resources_memory_outcome').get('used_percent', '?'))


def resources_memory_outcome(read):
    """The incident skeleton's outcome (filter incident_outcome) of the memory side. ``read``: diagnosis
    (resources_memory_diagnosis), memory (container_memory_info of the diagnosis), log_errors (platform_logs),
    restart_confirm, actions (fix_memory's, absent before it), memory_after (container_memory_info after the
    remedies, absent before verify_memory), flushed (redis_keys, maybe skipped), redis_db and check_mode."""
    where = 'resources_memory_outcome'
    read = _dict(read, 'the input', where)
    diagnosis = _dict(read.get('diagnosis'), 'diagnosis', where)
    memory = _dict(read.get('memory'), 'memory', where)
    after = _dict(read.get('memory_after'), 'memory_after', where)
    logs = _dict(read.get('log_errors'), 'log_errors', where)
    findings_after = after.get('findings')
    outcome = dict(
        findings=list(diagnosis.get('findings') or []),
        errors=list(logs.get('lines') or []),
        impacted=list(diagnosis.get('over_threshold') or []),
        health_before='host memory %s%% used' % _host_used(memory),
        health_after='host memory %s%% used' % _host_used(after),
        # Resolved only on a read after the remedies that finds nothing left.
        resolved=isinstance(findings_after, list) and not findings_after,
        summary='Host memory %s%% used; %d memory finding(s) left' % (_host_used(after), len(findings_after or []))
        if after else '',
        # A confirmed restart needs time to come up: wait up to 60 s for health.
        wait=_switch(read, 'restart_confirm', where))
    actions = _actions(read, where)
    if actions is not None:
        outcome['actions'] = [to_text(a) for a in actions]
        flushed = _dict(read.get('flushed'), 'flushed', where)
        # What the report's data-loss line lists; check mode changed nothing. VACUUM FULL keeps every row.
        outcome['data_changed'] = [
            'Flushed Redis database %s (%s keys; FLUSHDB): the cached keys are gone, nothing keeps a copy'
            % (to_text(read.get('redis_db')), to_text(flushed.get('keys_before', '?')))
        ] if flushed and _ran(flushed) and not _switch(read, 'check_mode', where) else []
    return outcome


def resources_queries_outcome(read):
    """The incident skeleton's outcome (filter incident_outcome) of the slow-query side. ``read``: findings
    (resources_queries_diagnosis's), queries (postgres_activity_info, registered with failed_when: false), service
    (the database's compose service), check_mode, and after fix_queries: actions, vacuumed and indexed
    (postgres_maintenance, maybe skipped)."""
    where = 'resources_queries_outcome'
    read = _dict(read, 'the input', where)
    queries = _dict(read.get('queries'), 'queries', where)
    vacuumed = _dict(read.get('vacuumed'), 'vacuumed', where)
    indexed = _dict(read.get('indexed'), 'indexed', where)
    findings = read.get('findings') or []
    if not isinstance(findings, list):
        raise AnsibleFilterError('%s: findings must be a list of sentences' % where)
    slow = queries.get('slow_statements') or []
    # A remedy that ran for real (VACUUM, or an index created) is the runbook's answer to its findings.
    remedied = not _switch(read, 'check_mode', where) and (bool(vacuumed) and _ran(vacuumed) or bool(indexed.get('changed')))
    outcome = dict(
        findings=[to_text(f) for f in findings],
        errors=[shorten(_dict(s, 'a slow statement', where).get('query', '')) for s in slow],
        impacted=[to_text(read.get('service'))] if findings else [],
        health_before='%d slow statement(s), %d table(s) with missing-index signs'
        % (len(slow), len(queries.get('seq_scan_tables') or [])),
        resolved=not findings or remedied,
        # VACUUM and CREATE INDEX CONCURRENTLY restart nothing: the service's health is asked once.
        wait=False)
    actions = _actions(read, where)
    if actions is not None:
        outcome['actions'] = [to_text(a) for a in actions]
    return outcome


class FilterModule(object):
    def filters(self):
        return {'resources_memory_diagnosis': resources_memory_diagnosis,
                'resources_queries_diagnosis': resources_queries_diagnosis,
                'resources_memory_actions': resources_memory_actions,
                'resources_query_actions': resources_query_actions,
                'resources_memory_outcome': resources_memory_outcome,
                'resources_queries_outcome': resources_queries_outcome}
