# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``database_diagnosis``: the verdict of runbook P1 "Database Connection Failures" from what the database role
read; ``database_fix_plan``: its resolution ladder's decisions; ``database_outcome``: what the incident skeleton
reports of it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.tgops.runbooks.plugins.filter.platform_logs import shorten


def _dict(value, name, plugin='database_diagnosis'):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AnsibleFilterError('%s: %s must be a dict, got %s' % (plugin, name, type(value).__name__))
    return value


def _restore_confirm(value):
    """A survey's or -e's "no" (false, none, empty) confirms nothing; anything else is compared with the name."""
    text = to_text(value if value is not None else '')
    return '' if text.strip().lower() in ('', 'false', 'none') else text


def database_diagnosis(read):
    """``read``: activity (postgres_activity_info, registered with failed_when: false), isready (the pg_isready
    command, maybe skipped), pg_errors and pool_errors (platform_logs), service, app_services, down (the stack role's
    list), log_since, log_lines."""
    read = _dict(read, 'the input')
    activity = _dict(read.get('activity'), 'activity')
    isready = _dict(read.get('isready'), 'isready')
    pg_errors = _dict(read.get('pg_errors'), 'pg_errors')
    pool_errors = _dict(read.get('pool_errors'), 'pool_errors')
    service = to_text(read.get('service'))
    app_services = [to_text(s) for s in read.get('app_services') or []]
    # failed_when: false leaves 'failed' false in the result: only a successful read has the numbers.
    reachable = 'connections' in activity
    container_down = service in (read.get('down') or [])
    # pg_isready: 0 accepting, 1 rejecting (starting up, recovering), 2 no response (down), 3 no attempt.
    rc = isready.get('rc')
    not_answering = rc == 2
    answers = rc in (0, 1)
    postgres_down = container_down or not_answering

    findings = []
    if postgres_down:
        findings.append('service %s is not running or unhealthy' % service)
    if not reachable:
        findings.append('database not reachable: %s' % to_text(activity.get('msg', 'unknown error')))
    if answers:
        findings.append('PostgreSQL is running and answers (pg_isready: %s): %s, so it is not restarted (a restart '
                        'cannot fix a bad password or full connection slots)'
                        % (to_text(isready.get('stdout') or '').strip(),
                           'the login failed, not the server' if not reachable else 'its health check fails'))
    if rc is not None and rc not in (0, 1, 2):
        findings.append('cannot ask %s whether it answers (pg_isready exit %s): not restarting it' % (service, rc))
    findings.extend(activity.get('findings') or [])
    if pool_errors.get('count'):
        findings.append('%s pool or connection error line(s) in the %s logs (last %s)'
                        % (pool_errors['count'], ', '.join(app_services), to_text(read.get('log_since'))))
    if pg_errors.get('count'):
        findings.append('%s ERROR/FATAL line(s) in the last %s PostgreSQL log lines'
                        % (pg_errors['count'], to_text(read.get('log_lines'))))
    if pg_errors.get('failure'):
        findings.append('cannot read the PostgreSQL logs: %s' % shorten(pg_errors['failure']))
    if pool_errors.get('failure'):
        findings.append('cannot read the application logs: %s' % shorten(pool_errors['failure']))
    return dict(reachable=reachable, container_down=container_down, not_answering=not_answering, answers=answers,
                postgres_down=postgres_down, needs_restart=postgres_down,
                exhausted=bool(activity.get('connections_exhausted', False)),
                idle_over_age=activity.get('idle_in_transaction_over_age') or [],
                errors=list(pool_errors.get('lines') or []) + list(pg_errors.get('lines') or []),
                findings=findings)


def database_fix_plan(read):
    """The resolution ladder's decisions that do not wait for a step's result. ``read``: needs_restart, exhausted,
    idle_over_age (database_diagnosis), allow_restart, terminate_confirm, restore_confirm, restore_backup,
    ready_retries, idle_age, service, app_services, db_name, check_mode."""
    read = _dict(read, 'the input')
    try:
        allow = boolean(read.get('allow_restart', True))
        terminate = boolean(read.get('terminate_confirm', False))
        check_mode = boolean(read.get('check_mode', False))
    except TypeError as exc:
        raise AnsibleFilterError('database_fix_plan: %s' % exc)
    needs_restart = bool(read.get('needs_restart'))
    idle = len(read.get('idle_over_age') or [])
    confirm = _restore_confirm(read.get('restore_confirm'))
    backup = to_text(read.get('restore_backup') or '')
    db_name = to_text(read.get('db_name'))
    restart_postgres = needs_restart and allow
    notes = []
    if not terminate and idle:
        notes.append('Not ending %d session(s) idle in transaction: confirm with -e p1_database_terminate_confirm=true'
                     % idle)
    refused = ''
    if confirm not in ('', db_name):
        shown = confirm if len(confirm) <= 64 else confirm[:61] + '...'
        refused = ('Restoring drops the database %s on %s: confirm with -e p1_database_restore_confirm=%s '
                   '(database_restore_confirm), not %s. Nothing was changed.'
                   % (db_name, to_text(read.get('host')), db_name, shown))
    restore_notes = []
    if confirm and not backup:
        restore_notes.append('Restore confirmed but no backup named: not restoring (add -e p1_database_restore_backup=<file>)')
    elif not confirm and needs_restart:
        restore_notes.append('Not restoring from backup: if corruption is suspected, confirm with '
                             '-e p1_database_restore_confirm=%s -e p1_database_restore_backup=<file>' % db_name)
    return dict(
        restart_postgres=restart_postgres,
        # A just-restarted PostgreSQL takes a moment to accept connections: keep asking only after a real restart.
        ready_retries=int(read.get('ready_retries') or 0) if restart_postgres and not check_mode else 0,
        terminate=terminate and idle > 0,
        terminate_notes=notes,
        app_restart_check_mode_notes=(['Would restart %s (connections exhausted)'
                                       % ', '.join(to_text(s) for s in read.get('app_services') or [])]
                                      if check_mode and read.get('exhausted') else []),
        restore=confirm == db_name and bool(backup),
        restore_refused=refused,
        restore_notes=restore_notes)


def _connections(activity):
    return '%s connection(s) of %s usable' % (to_text(activity.get('connections', '?')),
                                              to_text(activity.get('usable_connections', '?')))


def database_outcome(read):
    """The incident skeleton's outcome (filter incident_outcome) of the database role. ``read``: diagnosis
    (database_diagnosis) and activity (postgres_activity_info) of the first diagnosis, service, actions (the fix's,
    absent before it), diagnosis_after and activity_after (the diagnosis again after a fix; absent without one)."""
    read = _dict(read, 'the input', 'database_outcome')
    diagnosis = _dict(read.get('diagnosis'), 'diagnosis', 'database_outcome')
    activity = _dict(read.get('activity'), 'activity', 'database_outcome')
    after = _dict(read.get('diagnosis_after'), 'diagnosis_after', 'database_outcome')
    # The status and the last event speak of the latest read; the findings keep both, the errors the first.
    latest, latest_activity = diagnosis, activity
    if after:
        latest, latest_activity = after, _dict(read.get('activity_after'), 'activity_after', 'database_outcome')
    outcome = dict(
        findings=list(diagnosis.get('findings') or []) + ['after the fix: %s' % to_text(finding)
                                                          for finding in after.get('findings') or []],
        errors=list(diagnosis.get('errors') or []),
        # PostgreSQL was impacted when it was down at the start, even when the fix started it again.
        impacted=([to_text(read.get('service'))]
                  if diagnosis.get('postgres_down') or latest.get('postgres_down') else []),
        health_before=_connections(activity) + ('' if diagnosis.get('reachable') else ' (not reachable)'),
        # Resolved needs connections to be read, not exhausted, and no session idle in a transaction too long.
        resolved=bool(latest.get('reachable')) and not latest.get('exhausted') and not latest.get('idle_over_age'),
        summary=_connections(latest_activity))
    if read.get('actions') is not None:
        actions = read['actions']
        if not isinstance(actions, list):
            raise AnsibleFilterError('database_outcome: actions must be a list, got %s' % type(actions).__name__)
        outcome['actions'] = list(actions)
        outcome['data_changed'] = _data_changed(read)
    return outcome


def _data_changed(read):
    """What the fix changed in the data, for the report's data-loss line (nothing in check mode)."""
    try:
        if boolean(read.get('check_mode', False)):
            return []
    except TypeError as exc:
        raise AnsibleFilterError('database_outcome: check_mode: %s' % exc)
    changed = []
    terminated = _dict(read.get('terminated'), 'terminated', 'database_outcome').get('terminated') or []
    if terminated:
        # A leak leaves many sessions of a few applications: name those, not every pid.
        apps = []
        for session in terminated:
            app = to_text(_dict(session, 'a terminated session', 'database_outcome').get('application') or '?')
            if app not in apps:
                apps.append(app)
        shown = ', '.join(apps[:5]) + (' and %d more' % (len(apps) - 5) if len(apps) > 5 else '')
        changed.append('Ended %d session(s) idle in a transaction (application(s) %s): what they had not committed was '
                       'rolled back, nothing keeps it' % (len(terminated), shown))
    if _dict(read.get('plan'), 'plan', 'database_outcome').get('restore'):
        safety = _dict(read.get('safety'), 'safety', 'database_outcome')
        before = ('the database as it was is in the safety backup %s' % to_text(safety['path']) if 'path' in safety
                  else 'no safety backup of the database as it was (%s)'
                  % to_text(read.get('safety_error') or 'none made'))
        changed.append('%s dropped and restored from %s: whatever changed after that backup was replaced; %s'
                       % (to_text(read.get('db_name')), to_text(read.get('backup')), before))
    return changed


class FilterModule(object):
    def filters(self):
        return {'database_diagnosis': database_diagnosis, 'database_fix_plan': database_fix_plan,
                'database_outcome': database_outcome}
