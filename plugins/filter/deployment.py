# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The words of the deploy and rollback roles: what a deploy or a rollback is about to do (deploy_summary,
rollback_summary), how a failed deploy ended (deploy_failure) and the note a rollback records (rollback_note),
decided from release_info's plan and the role's options."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text


def _data(data, who, keys):
    if not isinstance(data, dict):
        raise AnsibleFilterError('%s expects a dict (%s)' % (who, ', '.join(keys)))
    missing = [key for key in keys if key not in data]
    if missing:
        raise AnsibleFilterError('%s: missing %s' % (who, ', '.join(missing)))
    return data


def _plan(data, who):
    plan = data['plan']
    if not isinstance(plan, dict) or not isinstance(plan.get('target'), dict):
        raise AnsibleFilterError("%s: plan must be release_info's registered result (with target), got %s"
                                 % (who, type(plan).__name__))
    return plan


def deploy_summary(data):
    """The sentence the deploy says before it changes anything.

    ``data`` keys: ``plan`` (release_info's result), ``check_mode``, ``release``, ``skip_backup``,
    ``skip_migrations``.
    """
    who = 'deploy_summary'
    _data(data, who, ('plan', 'check_mode', 'release', 'skip_backup', 'skip_migrations'))
    plan = _plan(data, who)
    target = plan['target']
    current = plan.get('current') or {}
    expected = target.get('expected_version')
    return ('%s %s (%s) over %s: %s. Steps: lock, %s, checkout, build, %s, up, /health gate%s.' % (
        'Would deploy' if data['check_mode'] else 'Deploying', to_text(data['release']),
        to_text(target.get('commit', ''))[:12], to_text(current.get('release', 'nothing')),
        to_text(plan.get('reason', '')),
        'no backup (skipped)' if data['skip_backup'] else 'pre-deployment backup',
        'no migrations (skipped)' if data['skip_migrations'] else 'alembic upgrade head',
        (' (version %s)' % to_text(expected)) if expected else ''))


def deploy_failure(data):
    """How a failed deploy ended: ``result`` for the releases file, ``said`` for the failure message.

    ``data`` keys: ``switched`` (the host had begun to change, so the automatic rollback ran) and ``rollback``
    (the rollback role's rollback_result: ``to``, ``version``).
    """
    who = 'deploy_failure'
    _data(data, who, ('switched', 'rollback'))
    if not data['switched']:
        return {'result': 'failed', 'said': 'Nothing was changed on the host.'}
    rollback = data['rollback']
    if not isinstance(rollback, dict) or 'to' not in rollback:
        raise AnsibleFilterError('%s: after the switch, rollback must be the rollback role\'s rollback_result (with to)'
                                 % who)
    version = rollback.get('version', 'not reported')
    return {'result': 'rolled_back',
            'said': 'Rolled back automatically to %s, which is healthy (version %s).'
                    % (to_text(rollback['to']), to_text(version))}


def rollback_summary(data):
    """The sentence the rollback says before it changes anything.

    ``data`` keys: ``plan`` (release_info's result, rollback mode), ``check_mode``, ``downgrade`` (a boolean:
    rollback_downgrade_migrations), ``revision`` and ``backup_label``.
    """
    who = 'rollback_summary'
    _data(data, who, ('plan', 'check_mode', 'downgrade', 'revision', 'backup_label'))
    plan = _plan(data, who)
    target = plan['target']
    if data['downgrade']:
        migrations = 'alembic downgrade %s after a verified %s backup' % (
            to_text(data['revision']), to_text(data['backup_label']))
    else:
        migrations = 'left as they are (no down-migration)'
    return '%s from %s to %s (%s): %s. Migrations: %s.' % (
        'Would roll back' if data['check_mode'] else 'Rolling back',
        to_text((plan.get('checked_out') or {}).get('release', '')), to_text(target.get('release', '')),
        to_text(target.get('commit', ''))[:12], to_text(plan.get('reason', '')), migrations)


def rollback_note(data):
    """The note the releases file and deployment.log keep for a rollback that passed.

    ``data`` keys: ``reason`` (rollback_reason; empty means a plain rollback), ``downgrade`` (a boolean),
    ``revision``, ``backup`` (the backup role's backup_result: ``name``, needed when ``downgrade``) and ``version``
    (what /health reported).
    """
    who = 'rollback_note'
    _data(data, who, ('reason', 'downgrade', 'version'))
    downgraded = ''
    if data['downgrade']:
        backup = data.get('backup')
        if not isinstance(backup, dict) or 'name' not in backup:
            raise AnsibleFilterError('%s: a downgrade needs the backup role\'s backup_result (with name)' % who)
        downgraded = 'downgraded to %s after backup %s; ' % (
            to_text(data.get('revision', '')), to_text(backup['name']))
    return '%s; %shealthy, version %s' % (to_text(data['reason'] or 'rollback'), downgraded,
                                          to_text(data['version']))


class FilterModule(object):
    def filters(self):
        return {'deploy_summary': deploy_summary, 'deploy_failure': deploy_failure,
                'rollback_summary': rollback_summary, 'rollback_note': rollback_note}
