# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The decisions of the toogoodtogo runbook's "Database Corruption": what the integrity read found and which
backup a restore would use (db_integrity_diagnosis), and the sentences for what the confirmed or refused restore
did (db_integrity_restore_actions). The role reads and restores through modules and the restore role."""

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


class FilterModule(object):
    def filters(self):
        return {'db_integrity_diagnosis': db_integrity_diagnosis,
                'db_integrity_restore_actions': db_integrity_restore_actions}
