# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The disk_space role's decisions (the toogoodtogo runbook's "Disk Space Exhaustion" edge case and "Disk Space
Issues"): what is wrong with a platform's disk and what the runbook's clean-up would free (``disk_space_plan``, from
platform_info's disk rows, a find of the backup directory, backup_retention in check mode and Docker's /system/df),
and what the clean-up did and what remains, in the report's words (``disk_space_actions``, from the plan and the
registered results of the steps the role ran behind their confirmations), and the incident report's view of both
(``disk_space_outcome``)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import math
import os

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

from ansible_collections.tgops.runbooks.plugins.plugin_utils._results import ran as _ran

_MB = 1048576.0


def _number(value, name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError('disk_space_plan: %s must be a number, got %r' % (name, value))
    if not math.isfinite(number) or number < 0:
        raise AnsibleFilterError('disk_space_plan: %s must be a finite number, 0 or more' % name)
    return number


def _size(value):
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def _mb(size):
    return '%.1f MB' % (size / _MB)


def _docker_reclaimable(df):
    """What `docker system prune -f` would free, from the engine's lists (docker_host_info verbose containers and
    images, or /system/df): stopped containers, dangling images no container uses, build cache not in use (only
    /system/df lists it). Never volumes. Container sizes are known only where the engine computed them."""
    every = [c for c in df.get('Containers') or [] if isinstance(c, dict)]
    containers = [c for c in every if c.get('State') != 'running']
    used = set(c.get('ImageID') for c in every if c.get('ImageID'))
    images = []
    for image in df.get('Images') or []:
        if not isinstance(image, dict):
            continue
        tags = [t for t in image.get('RepoTags') or [] if t != '<none>:<none>']
        # /images/json says -1 for Containers unless asked to count; the containers' ImageID is the fallback.
        if not tags and _size(image.get('Containers')) == 0 and image.get('Id') not in used:
            images.append(image)
    cache = [b for b in df.get('BuildCache') or [] if isinstance(b, dict) and not b.get('InUse')
             and not b.get('Shared')]

    def image_size(image):
        shared = _size(image.get('SharedSize'))
        return max(_size(image.get('Size')) - shared, 0)

    result = {
        'containers': len(containers),
        'containers_bytes': sum(_size(c.get('SizeRw')) for c in containers),
        'images': len(images),
        'images_bytes': sum(image_size(i) for i in images),
        'build_cache': len(cache),
        'build_cache_bytes': sum(_size(b.get('Size')) for b in cache),
        'build_cache_read': 'BuildCache' in df,
        # /images/json does not compute shared layers (SharedSize -1): then an image's Size is an upper bound.
        'upper_bound': any(not isinstance(i.get('SharedSize'), int) or i['SharedSize'] < 0 for i in images),
    }
    result['bytes'] = result['containers_bytes'] + result['images_bytes'] + result['build_cache_bytes']
    return result


def disk_space_plan(data):
    """Decide, from gathered data, which paths are over the threshold and what the clean-up would remove.

    ``data`` keys: ``disk`` (platform_info's disk rows), ``labels`` (path -> what it is, such as ``backups``),
    ``max_percent``, ``backup_dir``, ``files`` (find's files in the backup directory: path, size),
    ``old_patterns`` (shell patterns of leftovers such as ``*.sql.gz.old``), ``retention`` (backup_retention's
    result in check mode: removed, kept, labelled), ``retention_rule`` (words for the findings), ``docker``
    (/system/df, or empty when not read), ``docker_root`` and ``docker_warn_mb``.
    """
    if not isinstance(data, dict):
        raise AnsibleFilterError('disk_space_plan expects a dict (disk, max_percent, files, retention, docker, ...)')
    rows = data.get('disk')
    if not isinstance(rows, list):
        raise AnsibleFilterError('disk_space_plan: disk must be the list of platform_info\'s disk rows')
    limit = _number(data.get('max_percent', 90), 'max_percent')
    if limit > 100:
        raise AnsibleFilterError('disk_space_plan: max_percent must be at most 100')
    docker_warn = _number(data.get('docker_warn_mb', 1024), 'docker_warn_mb') * _MB
    labels = data.get('labels') or {}
    if not isinstance(labels, dict):
        raise AnsibleFilterError('disk_space_plan: labels must map paths to what they are')
    docker_root = data.get('docker_root') or ''
    backup_dir = data.get('backup_dir') or ''
    files = data.get('files') or []
    retention = data.get('retention') or {}
    patterns = data.get('old_patterns') or []
    if not isinstance(files, list) or not isinstance(retention, dict) or not isinstance(patterns, list):
        raise AnsibleFilterError('disk_space_plan: files and old_patterns must be lists, retention a dict')

    findings, notes, paths = [], [], []
    by_mount = {}
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get('path'), string_types):
            raise AnsibleFilterError('disk_space_plan: each disk row needs a path (platform_info\'s disk)')
        path = row['path']
        label = labels.get(path) or path
        entry = {'path': path, 'label': label, 'mount': row.get('mount'), 'used_percent': row.get('used_percent'),
                 'inodes_used_percent': row.get('inodes_used_percent'), 'avail_mb': row.get('avail_mb'),
                 'over': False, 'error': row.get('error') or ''}
        paths.append(entry)
        if entry['error']:
            # Where the engine is remote (the lab's hosts share the machine's socket) its root is not here.
            if path == docker_root and 'No such file' in entry['error']:
                notes.append('Docker root %s is not on this host (the engine runs elsewhere): its disk is not '
                             'read here' % path)
            else:
                findings.append('cannot read the usage of %s (%s): %s' % (label, path, entry['error']))
            continue
        used = _number(row.get('used_percent') or 0, 'used_percent of %s' % path)
        inodes = _number(row.get('inodes_used_percent') or 0, 'inodes_used_percent of %s' % path)
        entry['over'] = used >= limit or inodes >= limit
        if entry['over']:
            by_mount.setdefault(entry['mount'] or path, []).append(entry)
    for mount, entries in by_mount.items():
        first = entries[0]
        what = ' and '.join('%s (%s)' % (e['label'], e['path']) for e in entries)
        words = '%.1f%% full' % first['used_percent']
        if _number(first['inodes_used_percent'] or 0, 'inodes') >= limit:
            words += ', %.1f%% of inodes used' % first['inodes_used_percent']
        findings.append('%s on %s: %s, %s MB left (threshold %g%%)' % (what, mount, words, first['avail_mb'], limit))

    sizes = {}
    for item in files:
        if isinstance(item, dict) and isinstance(item.get('path'), string_types):
            sizes[item['path']] = _size(item.get('size'))
    removed = [p for p in retention.get('removed') or [] if isinstance(p, string_types)]
    backups_bytes = sum(sizes.get(p, 0) for p in removed)
    if removed:
        findings.append('%d backup(s) beyond retention (%s) in %s: %s' % (
            len(removed), data.get('retention_rule') or 'the platform\'s retention', backup_dir, _mb(backups_bytes)))
    old = sorted(p for p in sizes if any(fnmatch.fnmatchcase(os.path.basename(p), pat) for pat in patterns))
    old_bytes = sum(sizes[p] for p in old)
    if old:
        findings.append('%d leftover(s) %s in %s: %s' % (len(old), ', '.join(patterns), backup_dir, _mb(old_bytes)))

    docker = data.get('docker') or {}
    if not isinstance(docker, dict):
        raise AnsibleFilterError('disk_space_plan: docker must be the engine\'s /system/df (a dict) or empty')
    reclaim = _docker_reclaimable(docker) if docker else None
    if reclaim and reclaim['bytes'] and reclaim['bytes'] >= docker_warn:
        cache = ', %d build cache record(s)' % reclaim['build_cache'] if reclaim['build_cache_read'] else ''
        findings.append('Docker: %s %s reclaimable (%d stopped container(s), %d dangling image(s)%s); volumes are '
                        'never pruned' % ('at most' if reclaim['upper_bound'] else 'about', _mb(reclaim['bytes']),
                                          reclaim['containers'], reclaim['images'], cache))
    summary = ', '.join('%s %s%%' % (e['label'], e['used_percent']) if not e['error'] else
                        '%s unread' % e['label'] for e in paths)
    return {
        'findings': findings,
        'notes': notes,
        'summary': summary,
        'paths': paths,
        'over': [e['path'] for e in paths if e['over']],
        'passed': not any(e['over'] for e in paths),
        'backups_remove': removed,
        'backups_bytes': backups_bytes,
        'backups_kept': [p for p in retention.get('kept') or [] if isinstance(p, string_types)],
        'backups_labelled': [p for p in retention.get('labelled') or [] if isinstance(p, string_types)],
        'old_files': old,
        'old_bytes': old_bytes,
        'docker': reclaim,
    }


# ---------------------------------------------------------------------------------------------------------
# What the clean-up did (disk_space_actions)

def _actions_mb(size):
    # The role's Jinja wrote (bytes / 1048576) | round(1): the same float, printed the same way.
    return str(round(size / 1048576.0, 1))


def _actions_number(value, name):
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
    docker_bytes = _actions_number((plan.get('docker') or {}).get('bytes'), 'plan.docker.bytes')

    actions = []
    pruned = data.get('pruned_backups')
    if _ran(pruned):
        removed = _paths(pruned.get('removed'), 'pruned_backups.removed')
        backups_mb = _actions_mb(_actions_number(plan.get('backups_bytes'), 'plan.backups_bytes'))
        actions.append('%s %d backup(s) beyond retention (%s MB): %s; kept the newest %d daily and %d labelled '
                       'backup(s)' % (verb, len(removed), backups_mb,
                                      ', '.join(os.path.basename(p) for p in removed),
                                      len(_paths(pruned.get('kept'), 'pruned_backups.kept')),
                                      len(_paths(pruned.get('labelled'), 'pruned_backups.labelled'))))
    if backups_confirm and old:
        old_mb = _actions_mb(_actions_number(plan.get('old_bytes'), 'plan.old_bytes'))
        names = ', '.join(os.path.basename(p) for p in old)
        actions.append('%s %d leftover(s) (%s MB): %s' % (verb, len(old), old_mb, names))
    if (remove or old) and not backups_confirm:
        actions.append('Not removing backups beyond retention or leftovers: confirm with '
                       '-e disk_space_backups_confirm=true')
    docker = data.get('docker_pruned')
    if _ran(docker):
        reclaimed = sum(_actions_number(docker.get(key), 'docker_pruned.%s' % key) for key in (
            'containers_space_reclaimed', 'images_space_reclaimed', 'builder_cache_space_reclaimed'))
        actions.append('Pruned Docker (stopped containers, dangling images, unused networks, build cache): '
                       '%s MB reclaimed' % _actions_mb(reclaimed))
    if check_mode and prune_confirm and docker_bytes > 0:
        actions.append('Would prune Docker (about %s MB)' % _actions_mb(docker_bytes))
    if docker_bytes > 0 and not prune_confirm and not plan.get('passed'):
        actions.append('Not pruning Docker: confirm with -e disk_space_prune_confirm=true')
    over = final.get('over') or []
    if not isinstance(over, list) or not all(isinstance(p, string_types) for p in over):
        raise AnsibleFilterError('disk_space_outcome: final.over must be a list of paths')
    if over:
        actions.append('Still over %s%%: %s. Long term: resize the server or add a volume'
                       % (data.get('max_percent', 90), ', '.join(over)))
    return actions


# ---------------------------------------------------------------------------------------------------------
# What the incident report says (disk_space_outcome)

_NO_FINDINGS = 'the disk has room and nothing is beyond retention'


def _outcome_plan(value, name):
    if not isinstance(value, dict):
        raise AnsibleFilterError('disk_space_outcome: %s must be the result of disk_space_plan (a dict)' % name)
    return value


def _data_changed(read):
    """What the clean-up deleted, one sentence per step that changed something, with what is left of it."""
    changed = []
    pruned = read.get('pruned_backups')
    if _ran(pruned) and pruned.get('changed') and pruned.get('removed'):
        removed = pruned['removed']
        changed.append('Deleted %d daily backup(s) beyond retention: %s; only off-site copies, where the platform '
                       'keeps them, remain' % (len(removed), ', '.join(os.path.basename(to_text(p)) for p in removed)))
    old = read.get('removed_old')
    names = [os.path.basename(to_text(r.get('item'))) for r in (old.get('results') or [] if _ran(old) else [])
             if isinstance(r, dict) and r.get('changed')]
    if names:
        changed.append('Deleted %d leftover(s): %s; nothing keeps a copy' % (len(names), ', '.join(names)))
    docker = read.get('docker_pruned')
    if _ran(docker) and docker.get('changed'):
        changed.append('Pruned Docker: stopped containers (with their writable layers), dangling images, unused '
                       'networks and build cache are gone; volumes were kept')
    return changed


def disk_space_outcome(read):
    """The incident skeleton's outcome (filter incident_outcome) of the disk_space role.

    ``read`` keys: ``plan`` (disk_space_plan of the diagnosis), ``docker`` (docker_host_info's registered result;
    skipped or absent when not asked), and after the fix ``final`` (disk_space_plan after the clean-up, or the plan
    when nothing was read again), ``actions`` (disk_space_actions), ``max_percent``, ``backups_confirm`` and
    ``prune_confirm``, ``pruned_backups``, ``removed_old`` and ``docker_pruned`` (the registered results of the
    clean-up's steps) and ``check_mode``. Before the fix nothing is resolved: only a reading after the clean-up says
    the disk has room. Deleted backups and leftovers, and a Docker prune, are data the run changed (the report's
    data line), never in check mode.
    """
    if not isinstance(read, dict):
        raise AnsibleFilterError('disk_space_outcome expects a dict (plan, docker, final, actions, ...)')
    plan = _outcome_plan(read.get('plan'), 'plan')
    findings = list(plan.get('findings') or [])
    docker = read.get('docker')
    # An engine that was asked and did not answer is a finding of its own (the plan then has no Docker data).
    if _ran(docker) and 'host_info' not in docker:
        findings.append('Docker engine did not answer: %s' % docker.get('msg', '?'))
    outcome = {
        'findings': findings,
        'health_before': plan.get('summary') or '',
        'no_findings': _NO_FINDINGS,
        'impacted': [],
        'resolved': False,
    }
    if read.get('final') is None:
        return outcome
    final = _outcome_plan(read['final'], 'final')
    over = final.get('over') or []
    if not isinstance(over, list) or not all(isinstance(p, string_types) for p in over):
        raise AnsibleFilterError('disk_space_outcome: final.over must be a list of paths')
    outcome.update(
        actions=list(read.get('actions') or []),
        impacted=over,
        resolved=bool(final.get('passed')),
        # The old frame waited a minute for health only while a path stayed full (containers failing to start).
        wait=bool(over),
        summary='Disk: %s' % (final.get('summary') or 'unread'),
        data_changed=[] if read.get('check_mode') else _data_changed(read))
    if not final.get('passed'):
        if read.get('backups_confirm') and read.get('prune_confirm'):
            way_out = 'The clean-up did not free enough: resize the server or add a volume.'
        else:
            way_out = ('Free space with -e disk_space_backups_confirm=true (backups beyond retention, leftovers) '
                       'and/or -e disk_space_prune_confirm=true (docker system prune).')
        outcome['failure'] = 'Still over %s%%: %s. %s' % (read.get('max_percent', 90), ', '.join(over), way_out)
    return outcome


class FilterModule(object):
    def filters(self):
        return {'disk_space_plan': disk_space_plan, 'disk_space_actions': disk_space_actions,
                'disk_space_outcome': disk_space_outcome}
