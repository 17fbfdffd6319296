# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The words of the restore role's plan (restore_plan), of why a backup is refused before anything changes
(restore_refusal) and of what a failed restore left behind (restore_failure), decided from the pinned, verified,
applied and rolled-back results."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

from ansible_collections.tgops.runbooks.plugins.plugin_utils._results import ran as _ran


def _dict(data, key, who):
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AnsibleFilterError('%s: %s must be a registered result (a dict), got %s'
                                 % (who, key, type(value).__name__))
    return value


def restore_plan(data):
    """The plan the role shows before it changes anything, one line per step.

    ``data`` keys: ``check_mode``, ``db_name``, ``host``, ``safety_label``, ``app_services``, ``path`` (the
    backup as shown), ``downloaded`` (the bytes are here and were verified), ``verified`` (backup_verify's result:
    format, size, sha256, row_counts), and for an off-site copy not downloaded in check mode ``s3_bucket``,
    ``s3_prefix``, ``backup`` and ``expected_sha256``; ``health_url``.
    """
    who = 'restore_plan'
    if not isinstance(data, dict):
        raise AnsibleFilterError('restore_plan expects a dict (db_name, host, path, downloaded, verified, ...)')
    for key in ('db_name', 'host', 'path'):
        if not isinstance(data.get(key), string_types) or not data[key]:
            raise AnsibleFilterError('%s: %s must be a non-empty string' % (who, key))
    services = data.get('app_services')
    if not isinstance(services, list):
        raise AnsibleFilterError('%s: app_services must be a list of services' % who)
    services = ', '.join(to_text(s) for s in services)
    verified = _dict(data, 'verified', who)
    t = to_text
    if data.get('downloaded'):
        if not all(k in verified for k in ('format', 'size', 'sha256')):
            raise AnsibleFilterError('%s: a downloaded backup needs backup_verify\'s result (format, size, sha256)'
                                     % who)
        what = '(%s, %s bytes, sha256 %s)' % (t(verified['format']), t(verified['size']), t(verified['sha256']))
    else:
        what = ('once downloaded from s3://%s/%s%s (not downloaded in check mode) and its HMAC and sha256 %s checked'
                % (t(data.get('s3_bucket', '')), t(data.get('s3_prefix', '')), t(data.get('backup', '')),
                   t(data.get('expected_sha256', ''))))
    return [
        '%s for %s on %s:' % ('Plan (check mode, nothing is changed)' if data.get('check_mode') else 'Plan',
                              data['db_name'], data['host']),
        '1. safety backup of the current database (%s)' % t(data.get('safety_label', '')),
        '2. stop %s' % services,
        '3. drop and re-create %s, restore %s %s with exit-on-error, reading the pinned bytes only'
        % (data['db_name'], data['path'], what),
        '4. check the row counts of %d table(s) against the backup' % len(verified.get('row_counts') or {}),
        '5. start %s and wait for %s' % (services, t(data.get('health_url', ''))),
        'On any failure after step 3 begins: restore the safety backup, start, and fail.',
    ]


def restore_refusal(data):
    """Why the backup is refused, for the refusal message: backup_verify's findings when it did not pass, else the
    pin's (a plain dump whose content cannot be handed to psql), else nothing.

    ``data`` keys: ``verified`` (backup_verify's registered result, with ``passed``) and ``pinned``
    (pg_backup_restore's check-mode result).
    """
    who = 'restore_refusal'
    if not isinstance(data, dict):
        raise AnsibleFilterError('restore_refusal expects a dict (verified, pinned)')
    verified = _dict(data, 'verified', who)
    pinned = _dict(data, 'pinned', who)
    if 'passed' not in verified:
        raise AnsibleFilterError("%s: verified must be backup_verify's result (with passed)" % who)
    if not verified['passed']:
        return to_text(verified.get('msg', ''))
    return to_text(pinned.get('msg', ''))


def restore_failure(data):
    """What a failed restore does next and what it left, for the rescue's two messages.

    ``data`` keys: ``applied`` (pg_backup_restore's registered result; ``dropped`` false when the database was
    never dropped), ``safety`` (the safety backup: ``path``; empty when there is none), ``rollback`` (the safety
    backup's restore, skipped when it did not run) and ``healthy`` (the application after the start).
    Returns ``next`` (said when the failure is caught) and ``left`` (the state the failure message ends with).
    """
    who = 'restore_failure'
    if not isinstance(data, dict):
        raise AnsibleFilterError('restore_failure expects a dict (applied, safety, rollback, healthy)')
    applied = _dict(data, 'applied', who)
    safety = _dict(data, 'safety', who)
    rollback = _dict(data, 'rollback', who)
    # A restore that failed before it dropped anything leaves the database as it was.
    dropped = applied.get('dropped', True)
    if not dropped:
        what_next = 'The database was not dropped; starting the services again.'
    elif 'path' in safety:
        what_next = 'Restoring the safety backup %s' % to_text(safety['path'])
    else:
        what_next = 'There is no safety backup to put back.'
    if _ran(rollback):
        left = 'The safety backup %s was restored (%d tables, row counts as before the restore)' % (
            to_text(safety.get('path', '')), len(rollback.get('row_counts') or {}))
    elif not dropped:
        left = 'The database was not dropped and is as it was'
    else:
        left = ('There was no safety backup: the database may be EMPTY or partly restored; restore another backup '
                'now')
    left += '; the application is %s' % ('healthy' if data.get('healthy') else 'NOT healthy')
    return {'next': what_next, 'left': left}


class FilterModule(object):
    def filters(self):
        return {'restore_plan': restore_plan, 'restore_refusal': restore_refusal, 'restore_failure': restore_failure}
