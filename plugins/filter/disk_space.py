# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the disk_space role's clean-up did and what remains, in the report's words (the toogoodtogo runbook's
"Disk Space Exhaustion": prune, remove old backups, then resize). The role runs each step behind its
confirmation; this decides, from the plan and the registered results, the sentences it reports."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types


def _mb(size):
    # The role's Jinja wrote (bytes / 1048576) | round(1): the same float, printed the same way.
    return str(round(size / 1048576.0, 1))


def _ran(result):
    """A registered result of a task that ran (not skipped, not absent)."""
    return isinstance(result, dict) and bool(result) and not result.get('skipped')


def _number(value, name):
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        raise AnsibleFilterError('disk_space_actions: %s must be a number, got %r' % (name, value))


def _paths(value, name):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(p, string_types) for p in value):
        raise AnsibleFilterError('disk_space_actions: %s must be a list of paths' % name)
    return value


def disk_space_actions(data):
    """The sentences for what the clean-up did (or would do in check mode) and what remains.

    ``data`` keys: ``plan`` (disk_space_plan before the clean-up), ``final`` (disk_space_plan after it, or the
    plan when nothing was read again), ``max_percent`` (as the operator wrote it), ``check_mode``,
    ``backups_confirm``, ``prune_confirm``, ``pruned_backups`` (backup_retention's registered result) and
    ``docker_pruned`` (docker_prune's registered result); a skipped or absent result is a step that did not run.
    """
    if not isinstance(data, dict):
        raise AnsibleFilterError('disk_space_actions expects a dict (plan, final, max_percent, check_mode, ...)')
    plan = data.get('plan')
    if not isinstance(plan, dict):
        raise AnsibleFilterError('disk_space_actions: plan must be the result of disk_space_plan (a dict)')
    final = data.get('final', plan)
    if not isinstance(final, dict):
        raise AnsibleFilterError('disk_space_actions: final must be the result of disk_space_plan (a dict)')
    check_mode = bool(data.get('check_mode'))
    backups_confirm = bool(data.get('backups_confirm'))
    prune_confirm = bool(data.get('prune_confirm'))
    verb = 'Would remove' if check_mode else 'Removed'
    remove = _paths(plan.get('backups_remove'), 'plan.backups_remove')
    old = _paths(plan.get('old_files'), 'plan.old_files')
    docker_bytes = _number((plan.get('docker') or {}).get('bytes'), 'plan.docker.bytes')

    actions = []
    pruned = data.get('pruned_backups')
    if _ran(pruned):
        removed = _paths(pruned.get('removed'), 'pruned_backups.removed')
        actions.append('%s %d backup(s) beyond retention (%s MB): %s; kept the newest %d daily and %d labelled '
                       'backup(s)' % (verb, len(removed), _mb(_number(plan.get('backups_bytes'), 'plan.backups_bytes')),
                                      ', '.join(os.path.basename(p) for p in removed),
                                      len(_paths(pruned.get('kept'), 'pruned_backups.kept')),
                                      len(_paths(pruned.get('labelled'), 'pruned_backups.labelled'))))
    if backups_confirm and old:
        old_mb = _mb(_number(plan.get('old_bytes'), 'plan.old_bytes'))
        names = ', '.join(os.path.basename(p) for p in old)
        actions.append('%s %d leftover(s) (%s MB): %s' % (verb, len(old), old_mb, names))
    if (remove or old) and not backups_confirm:
        actions.append('Not removing backups beyond retention or leftovers: confirm with '
                       '-e disk_space_backups_confirm=true')
    docker = data.get('docker_pruned')
    if _ran(docker):
        reclaimed = sum(_number(docker.get(key), 'docker_pruned.%s' % key) for key in (
            'containers_space_reclaimed', 'images_space_reclaimed', 'builder_cache_space_reclaimed'))
        actions.append('Pruned Docker (stopped containers, dangling images, unused networks, build cache): '
                       '%s MB reclaimed' % _mb(reclaimed))
    if check_mode and prune_confirm and docker_bytes > 0:
        actions.append('Would prune Docker (about %s MB)' % _mb(docker_bytes))
    if docker_bytes > 0 and not prune_confirm and not plan.get('passed'):
        actions.append('Not pruning Docker: confirm with -e disk_space_prune_confirm=true')
    over = _paths(final.get('over'), 'final.over')
    if over:
        actions.append('Still over %s%%: %s. Long term: resize the server or add a volume'
                       % (data.get('max_percent', 90), ', '.join(over)))
    return actions


class FilterModule(object):
    def filters(self):
        return {'disk_space_actions': disk_space_actions}
