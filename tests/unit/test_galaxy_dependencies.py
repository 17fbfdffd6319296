# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""galaxy.yml lists exactly the collections the built collection calls: modules, filters and lookups named by FQCN in
roles and playbooks, collections meta/runtime.yml extends, and imports in plugins/."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import ansible_collections
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OURS = {'tgops.runbooks', 'ansible.builtin', 'ansible.legacy'}
# prose, not calls: role option descriptions (and role metadata, skipped by directory)
SKIP_FILES = {'argument_specs.yml'}


def installed_collections():
    found = set()
    for base in ansible_collections.__path__:
        for namespace in os.listdir(base):
            if os.path.isdir(os.path.join(base, namespace)) and not namespace.startswith(('_', '.')):
                for name in os.listdir(os.path.join(base, namespace)):
                    if os.path.isdir(os.path.join(base, namespace, name)):
                        found.add('%s.%s' % (namespace, name))
    return found


def _strip_comments(text):
    return '\n'.join(re.sub(r'(^|\s)#.*$', '', line) for line in text.splitlines())


def used_collections(known):
    pattern = re.compile(r'\b([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b')
    used = {}
    for top in ('roles', 'playbooks'):
        for dirpath, _dirs, files in os.walk(os.path.join(ROOT, top)):
            if os.sep + 'meta' in dirpath[len(ROOT):]:
                continue
            for name in files:
                if name.endswith(('.yml', '.yaml', '.j2')) and name not in SKIP_FILES:
                    path = os.path.join(dirpath, name)
                    with open(path) as src:
                        for match in pattern.finditer(_strip_comments(src.read())):
                            if match.group(1) in known:
                                used.setdefault(match.group(1), os.path.relpath(path, ROOT))
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as src:
        for group in (yaml.safe_load(src).get('action_groups') or {}).values():
            for entry in group:
                if isinstance(entry, dict):
                    for extended in entry.get('metadata', {}).get('extend_group', []):
                        used.setdefault('.'.join(extended.split('.')[:2]), 'meta/runtime.yml')
    imports = re.compile(r'^\s*(?:from|import)\s+ansible_collections\.([a-z0-9_]+)\.([a-z0-9_]+)', re.MULTILINE)
    for dirpath, _dirs, files in os.walk(os.path.join(ROOT, 'plugins')):
        for name in files:
            if name.endswith('.py'):
                with open(os.path.join(dirpath, name)) as src:
                    for match in imports.finditer(src.read()):
                        used.setdefault('%s.%s' % match.groups(), os.path.relpath(os.path.join(dirpath, name), ROOT))
    return {name: where for name, where in used.items() if name not in OURS}


def test_dependencies_are_exactly_what_the_collection_calls():
    with open(os.path.join(ROOT, 'galaxy.yml')) as src:
        galaxy = yaml.safe_load(src)
    declared = set(galaxy.get('dependencies') or {})
    used = used_collections(installed_collections() | declared)
    assert declared == set(used), 'declared but unused: %s; used but not declared: %s' % (
        sorted(declared - set(used)), sorted('%s (%s)' % (name, used[name]) for name in set(used) - declared))


def test_a_dependency_in_a_task_is_found():
    """The scan is not blind: it sees the modules the roles are known to call."""
    used = used_collections(installed_collections())
    assert used.get('community.docker', '').startswith('roles/')
    assert 'amazon.aws' in used and 'community.crypto' in used
