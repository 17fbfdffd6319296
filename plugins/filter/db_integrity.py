# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The decisions of the toogoodtogo runbook's "Database Corruption": what the integrity read found and which
backup a restore would use (db_integrity_diagnosis), the sentences for what the confirmed or refused restore
did (db_integrity_restore_actions), and what the incident report says of it all (db_integrity_outcome). The role
reads and restores through modules and the restore role."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types


def _text(value, name, who):
    if not isinstance(value, string_types) or not value:
        raise AnsibleFilterError('%s: %s must be a non-empty string' % (who, name))
    return value


def _names(value, name, who):
    if not isinstance(value, list) or not all(isinstance(v, string_types) for v in value):
        raise AnsibleFilterError('%s: %s must be a list of names' % (who, name))
    return value


def _newest(files):
    """The newest backup by modification time, the path breaking a tie (as sort(attribute='mtime,path') did)."""
    best = None
    for item in files:
        if not isinstance(item, dict) or not isinstance(item.get('path'), string_types):
            raise AnsibleFilterError('db_integrity_diagnosis: backups.files must be find\'s files (each with a path)')
        try:
            key = (float(item.get('mtime') or 0), item['path'])
        except (TypeError, ValueError):
            raise AnsibleFilterError('db_integrity_diagnosis: the mtime of %s must be a number' % item['path'])
        if best is None or key > best[0]:
            best = (key, item['path'])
    return best[1] if best else ''


def db_integrity_diagnosis(data):
    """What the integrity read found, and the backup a restore would use.

    ``data`` keys: ``result`` (postgres_integrity_info registered with ``failed_when: false``), ``db_name``,
    ``restore_backup`` (a backup named by the operator, or empty), ``backups`` (find's result in the backup
    directory; skipped when a backup is named), ``backup_dir`` and ``backup_pattern``.
    """
    who = 'db_integrity_diagnosis'
    if not isinstance(data, dict):
        raise AnsibleFilterError('db_integrity_diagnosis expects a dict (result, db_name, backups, backup_dir, ...)')
    result = data.get('result')
    if not isinstance(result, dict):
        raise AnsibleFilterError('db_integrity_diagnosis: result must be postgres_integrity_info\'s registered result')
    db_name = _text(data.get('db_name'), 'db_name', who)
    backup_dir = _text(data.get('backup_dir'), 'backup_dir', who)
    named = data.get('restore_backup') or ''
    if not isinstance(named, string_types):
        raise AnsibleFilterError('%s: restore_backup must be a file name or empty' % who)
    backups = data.get('backups')
    backups = {} if backups is None else backups
    if not isinstance(backups, dict):
        raise AnsibleFilterError('%s: backups must be find\'s registered result' % who)
    files = backups.get('files') or []
    if not isinstance(files, list):
        raise AnsibleFilterError('%s: backups.files must be a list' % who)

    reachable = 'passed' in result
    corrupted = result.get('corrupted') or []
    if reachable:
        findings = list(result.get('findings') or [])
    else:
        findings = ['database %s cannot be read: %s' % (db_name, to_text(result.get('msg', 'unknown error')))]
    if named:
        backup, name, source = '%s/%s' % (backup_dir, named), named, 'named'
    else:
        backup = _newest(files)
        # the file name the restore role takes (it refuses anything but a file name in the backup directory)
        name = os.path.basename(backup)
        source = 'newest of %d backup(s) %s in %s (regular files; safety backups left out)' % (
            len(files), to_text(data.get('backup_pattern') or ''), backup_dir)
    indexes = '%s (amcheck %s)' % (to_text(result.get('indexes_checked', 0)),
                                   'installed' if result.get('amcheck') else 'not installed')
    return {'reachable': reachable, 'corrupted': corrupted, 'findings': findings, 'backup': backup,
            'backup_name': name, 'backup_source': source, 'indexes': indexes}


def db_integrity_restore_actions(data):
    """The sentences for the restore: refused without the confirmation, done, or what a real run would do.

    ``data`` keys: ``diagnosis`` (db_integrity_diagnosis), ``db_name``, ``app_services``, ``confirm`` (the value
    given; the database's name confirms), ``check_mode``, ``safety`` (restore_safety: the safety backup, with
    ``path`` when made), ``safety_error`` and ``applied`` (restore_applied, with ``row_counts``).
    """
    who = 'db_integrity_restore_actions'
    if not isinstance(data, dict):
        raise AnsibleFilterError('db_integrity_restore_actions expects a dict (diagnosis, db_name, confirm, ...)')
    diagnosis = data.get('diagnosis')
    if not isinstance(diagnosis, dict) or not all(k in diagnosis for k in ('corrupted', 'backup', 'backup_source')):
        raise AnsibleFilterError('%s: diagnosis must be the result of db_integrity_diagnosis' % who)
    db_name = _text(data.get('db_name'), 'db_name', who)
    services = ', '.join(_names(data.get('app_services'), 'app_services', who))
    corrupted = _names(diagnosis['corrupted'], 'diagnosis.corrupted', who)
    backup, source = diagnosis['backup'], diagnosis['backup_source']
    if not corrupted:
        return []
    if data.get('confirm') != db_name:
        return ['NOT restoring: %s corrupted. Would restore %s (%s) into %s after stopping %s. Confirm with '
                '-e db_corruption_restore_confirm=%s. The application was left running as it was.'
                % (', '.join(corrupted), backup or '(no backup found: name one with db_corruption_restore_backup)',
                   source, db_name, services, db_name)]
    if data.get('check_mode'):
        return ['Would stop %s, restore %s (%s, verified) into %s and start them (check mode)'
                % (services, backup, source, db_name)]
    safety = data.get('safety') or {}
    applied = data.get('applied') or {}
    if not isinstance(safety, dict) or not isinstance(applied, dict):
        raise AnsibleFilterError('%s: safety and applied must be the restore role\'s results (dicts)' % who)
    if 'path' in safety:
        first = 'Safety backup %s' % to_text(safety['path'])
    else:
        first = 'Safety backup impossible (%s); restored as confirmed' % to_text(data.get('safety_error') or '')
    return [first, 'Stopped %s' % services,
            'Restored %s from %s (%s; %d tables, row counts as in the backup)'
            % (db_name, backup, source, len(applied.get('row_counts') or {})),
            'Started %s; health verified' % services]


def _flag(value, name, who):
    if isinstance(value, bool):
        return value
    if isinstance(value, string_types) and value.strip().lower() in ('true', 'false'):
        return value.strip().lower() == 'true'
    raise AnsibleFilterError('%s: %s must be true or false, got %r' % (who, name, value))


def _ran(result):
    """Whether a registered task ran: a dict with content and no ``skipped``."""
    return isinstance(result, dict) and bool(result) and not result.get('skipped')


def db_integrity_outcome(data):
    """The incident skeleton's outcome (filter incident_outcome) of the db_integrity role.

    ``data`` keys: ``diagnosis`` (db_integrity_diagnosis), ``result`` (the first postgres_integrity_info read),
    ``db_name``, ``host``, ``service`` (the PostgreSQL service), ``confirm`` (the confirmation given); after the
    fix ``actions`` (its sentences), ``restored`` (whether the restore was applied), ``safety`` and
    ``safety_error`` (the restore role's safety backup, or why there is none); after the verification ``final``
    (the second read, skipped or absent when nothing was restored).

    The cause is gone when the last read of every table passed: the one after the restore when there was one,
    else the diagnosis's. A database left corrupted fails the run after the report, saying how to go on.
    """
    who = 'db_integrity_outcome'
    if not isinstance(data, dict):
        raise AnsibleFilterError('%s expects a dict (diagnosis, result, db_name, host, service, ...)' % who)
    diagnosis = data.get('diagnosis')
    if not isinstance(diagnosis, dict) or not all(k in diagnosis for k in ('reachable', 'corrupted', 'findings',
                                                                           'backup')):
        raise AnsibleFilterError('%s: diagnosis must be the result of db_integrity_diagnosis' % who)
    result = data.get('result')
    if not isinstance(result, dict):
        raise AnsibleFilterError('%s: result must be postgres_integrity_info\'s registered result' % who)
    final = data.get('final')
    if final is not None and not isinstance(final, dict):
        raise AnsibleFilterError('%s: final must be postgres_integrity_info\'s registered result or absent' % who)
    db_name = _text(data.get('db_name'), 'db_name', who)
    host = _text(data.get('host'), 'host', who)
    service = _text(data.get('service'), 'service', who)
    corrupted = _names(diagnosis['corrupted'], 'diagnosis.corrupted', who)
    diagnosed = _names(diagnosis['findings'], 'diagnosis.findings', who)
    findings = list(diagnosed)
    if _ran(final):
        passed = bool(final.get('passed'))
        if passed:
            summary = 'every table of %s reads cleanly after the restore (%s tables)' % (
                db_name, to_text(final.get('tables_checked', 0)))
        else:
            after = final['findings'] if 'findings' in final else [
                'cannot read the database: %s' % to_text(final.get('msg') or '?')]
            findings += ['after the restore: %s' % to_text(f) for f in after]
            summary = 'the restore did not leave a readable database'
    else:
        passed = bool(result.get('passed'))
        summary = '' if passed else '%s still %s' % (
            db_name, 'corrupted' if diagnosis['reachable'] else 'unreadable')
    if passed:
        failure = ''
    else:
        if not diagnosis['reachable']:
            next_step = 'PostgreSQL does not answer: see playbooks/p1_database.yml.'
        elif data.get('confirm') != db_name:
            next_step = 'Restore with -e db_corruption_restore_confirm=%s (would use %s)' % (
                db_name, diagnosis['backup'] or 'no backup found')
        else:
            next_step = 'The restore did not leave a readable database.'
        failure = '%s on %s is CORRUPTED or unreadable: %s. %s' % (db_name, host, '; '.join(diagnosed), next_step)
    outcome = dict(
        findings=findings,
        errors=list(diagnosed),
        impacted=[service] if corrupted else [],
        health_before=('%d corrupted relation(s) of %s table(s) read' % (
            len(corrupted), to_text(result.get('tables_checked', '?')))) if diagnosis['reachable']
        else 'database not readable',
        no_findings='every table of %s reads cleanly (%s tables)' % (db_name, to_text(result.get('tables_checked', 0))),
        resolved=passed,
        summary=summary,
        failure=failure,
        # Only a restore restarts the application: starting PostgreSQL alone or refusing asks for health once.
        wait=_flag(data.get('restored', False), 'restored', who))
    if data.get('actions') is not None:
        outcome['actions'] = _names(data['actions'], 'actions', who)
    if outcome['wait']:
        safety = data.get('safety') or {}
        if not isinstance(safety, dict):
            raise AnsibleFilterError('%s: safety must be the restore role\'s restore_safety (a dict)' % who)
        before = ('the database as it was is in the safety backup %s' % to_text(safety['path']) if 'path' in safety
                  else 'no safety backup of the database as it was (%s)' % to_text(data.get('safety_error') or
                                                                                   'none made'))
        outcome['data_changed'] = ['%s dropped and restored from %s: whatever changed after that backup was '
                                   'replaced; %s' % (db_name, diagnosis['backup'], before)]
    return outcome


class FilterModule(object):
    def filters(self):
        return {'db_integrity_diagnosis': db_integrity_diagnosis,
                'db_integrity_restore_actions': db_integrity_restore_actions,
                'db_integrity_outcome': db_integrity_outcome}
