# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every role's defaults/main.yml and meta/argument_specs.yml say the same thing.

Ansible never applies an argument spec's ``default``: the value a role runs with is always the one in
defaults/main.yml, so the spec's is documentation and must be that value, written the same way (a template
default is documented as the template, with its fallback, not as the fallback alone; an int, float or bool option
whose default is a template documents none - antsibull-docs rejects a template there - and its description says
where the value comes from, as does any option whose default is one platform_* variable and whose spec gives
none). And every variable a role has a default for is an option of each entry point whose tasks read it, so
ansible-doc lists it and the entry point's validation checks it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import json
import os
import re

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
ROLES_DIR = os.path.join(ROOT, 'roles')
ROLES = sorted(name for name in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, name)))

INCLUDE_KEYS = ('ansible.builtin.include_tasks', 'ansible.builtin.import_tasks')
# A default that is one inventory variable: {{ platform_x }} or {{ platform_x | default(...) }}.
FROM_INVENTORY = re.compile(r'^\{\{ (platform_\w+)(?: \| default\(.*\))? \}\}$')
TEMPLATE = re.compile(r'["\']?([\w.{}| \'-]+\.j2)["\']?')


def _load(path):
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def _code(path):
    """The file's text without its comment lines (a variable named in a comment is not read)."""
    with open(path, encoding='utf-8') as handle:
        return ''.join(line for line in handle if not line.lstrip().startswith('#'))


def _defaults(role, roles_dir=ROLES_DIR):
    return _load(os.path.join(roles_dir, role, 'defaults', 'main.yml')) or {}


def _specs(role, roles_dir=ROLES_DIR):
    return _load(os.path.join(roles_dir, role, 'meta', 'argument_specs.yml'))['argument_specs']


def _includes(tasks):
    """(task file, names its vars: set) of every include_tasks/import_tasks in a task list, blocks included."""
    found = []
    for task in tasks or []:
        for key in ('block', 'rescue', 'always'):
            found.extend(_includes(task.get(key)))
        for key in INCLUDE_KEYS:
            if key in task:
                target = task[key]['file'] if isinstance(task[key], dict) else task[key]
                found.append((target, set(task.get('vars') or {})))
    return found


def _reads(text, names):
    """The names the text reads: named anywhere but as a YAML key (a key sets, it does not read)."""
    return {name for name in names if re.search(r'\b%s\b(?!\s*:(?:\s|$))' % re.escape(name), text, re.M)}


def _entry_point_reads(role, entry, names, roles_dir=ROLES_DIR):
    """Which of ``names`` an entry point reads from its caller: those tasks/<entry>.yml, the templates it names
    and the task files it includes (transitively) read, less what an include sets in its own vars:."""
    tasks_dir = os.path.join(roles_dir, role, 'tasks')
    templates_dir = os.path.join(roles_dir, role, 'templates')
    templates = sorted(os.listdir(templates_dir)) if os.path.isdir(templates_dir) else []

    def reads(name, seen):
        if name in seen or '{{' in name:
            return set()
        path = os.path.join(tasks_dir, name)
        text = _code(path)
        found = _reads(text, names)
        for written in TEMPLATE.findall(text):
            # backup.{{ item }}.j2: any template the pattern can name
            pattern = re.sub(r'\{\{.*?\}\}', '*', written.strip('\'" '))
            for template in fnmatch.filter(templates, pattern):
                found |= _reads(_code(os.path.join(templates_dir, template)), names)
        for target, given in _includes(_load(path)):
            found |= reads(target, seen | {name}) - given
        return found

    return reads('%s.yml' % entry, frozenset())


def _same(one, other):
    """Equal as YAML data: true is not 1, '5' is not 5."""
    return json.dumps(one, sort_keys=True) == json.dumps(other, sort_keys=True)


def _text(description):
    return ' '.join(description) if isinstance(description, list) else str(description or '')


def _is_template(value):
    return isinstance(value, str) and ('{{' in value or '{%' in value)


def disagreements(role, roles_dir=ROLES_DIR):
    """What defaults/main.yml and meta/argument_specs.yml of the role disagree on, one sentence each."""
    defaults = _defaults(role, roles_dir)
    specs = _specs(role, roles_dir)
    problems = []
    for entry, spec in sorted(specs.items()):
        options = spec.get('options') or {}
        for name in sorted(_entry_point_reads(role, entry, set(defaults), roles_dir)):
            if name not in options:
                problems.append('%s: entry point %s reads %s (defaults/main.yml) but has no such option'
                                % (role, entry, name))
        for name, option in sorted(options.items()):
            source = FROM_INVENTORY.match(defaults[name]) if isinstance(defaults.get(name), str) else None
            if source and 'default' not in option and source.group(1) not in _text(option.get('description')):
                # ansible-doc must say where the value comes from: the template as the default, or in words
                problems.append('%s: entry point %s says neither the default of %s nor that it comes from %s'
                                % (role, entry, name, source.group(1)))
            if 'default' not in option:
                continue
            documented = option['default']
            if option.get('type') in ('int', 'float', 'bool', 'dict') and _is_template(documented):
                # antsibull-docs lint (scripts/docs.sh lint) rejects it: such an option's description says where its
                # default comes from, and the spec gives none
                problems.append('%s: entry point %s documents template default %r for %s, of type %s'
                                % (role, entry, documented, name, option['type']))
            elif name not in defaults:
                problems.append('%s: entry point %s documents default %r for %s, which defaults/main.yml does not '
                                'set' % (role, entry, documented, name))
            elif not _same(documented, defaults[name]):
                kind = 'template' if _is_template(defaults[name]) else 'value'
                problems.append('%s: entry point %s documents default %r for %s, defaults/main.yml has %s %r'
                                % (role, entry, documented, name, kind, defaults[name]))
    declared = set()
    for spec in specs.values():
        declared.update(spec.get('options') or {})
    for name in sorted(set(defaults) - declared):
        problems.append('%s: %s (defaults/main.yml) is an option of no entry point' % (role, name))
    return problems


@pytest.mark.parametrize('role', ROLES)
def test_defaults_and_argument_specs_agree(role):
    assert disagreements(role) == []


def test_every_role_has_both_files_and_a_main_entry_point():
    for role in ROLES:
        assert os.path.isfile(os.path.join(ROLES_DIR, role, 'defaults', 'main.yml')), role
        assert 'main' in _specs(role), role
        for entry in _specs(role):
            assert os.path.isfile(os.path.join(ROLES_DIR, role, 'tasks', '%s.yml' % entry)), (role, entry)


def test_the_check_sees_each_kind_of_disagreement(tmp_path):
    """The comparison itself: a wrong documented default, a template documented as its fallback, a documented
    default the role lacks, true documented as 1, a template documented for an int, an option from the inventory
    documented neither way, an undeclared default, and an option missing from an entry point
    that reads it - but not one an include sets in its vars:, nor one named only in a comment."""
    role = tmp_path / 'demo'
    (role / 'defaults').mkdir(parents=True)
    (role / 'meta').mkdir()
    (role / 'tasks').mkdir()
    (role / 'defaults' / 'main.yml').write_text(
        'demo_a: 1\ndemo_b: "{{ platform_b | default(2) }}"\ndemo_c: x\ndemo_d: y\ndemo_f: true\ndemo_g: 0\n'
        'demo_h: "{{ platform_h | default(3) }}"\ndemo_i: "{{ platform_i }}"\ndemo_j: "{{ platform_j | default(1) }}"\n')
    (role / 'meta' / 'argument_specs.yml').write_text(yaml.safe_dump({'argument_specs': {
        'main': {'options': {'demo_a': {'type': 'int', 'default': 3}, 'demo_b': {'type': 'int', 'default': 2},
                             'demo_c': {'type': 'str'}, 'demo_e': {'type': 'str', 'default': 'z'},
                             'demo_f': {'type': 'bool', 'default': 1},
                             'demo_h': {'type': 'int', 'default': '{{ platform_h | default(3) }}'},
                             'demo_i': {'type': 'str', 'description': 'Where.'},
                             'demo_j': {'type': 'int', 'description': ['How many.', 'From C(platform_j).']}}},
        'fix': {'options': {'demo_d': {'type': 'str'}}}}}))
    (role / 'tasks' / 'main.yml').write_text('- ansible.builtin.include_tasks: fix.yml\n  vars:\n    demo_d: set\n')
    (role / 'tasks' / 'fix.yml').write_text('# demo_a only in a comment\n- ansible.builtin.debug:\n'
                                            '    msg: "{{ demo_c }} {{ demo_d }}"\n')
    assert disagreements('demo', str(tmp_path)) == [
        'demo: entry point fix reads demo_c (defaults/main.yml) but has no such option',
        "demo: entry point main documents default 3 for demo_a, defaults/main.yml has value 1",
        "demo: entry point main documents default 2 for demo_b, defaults/main.yml has template "
        "'{{ platform_b | default(2) }}'",
        "demo: entry point main documents default 'z' for demo_e, which defaults/main.yml does not set",
        "demo: entry point main documents default 1 for demo_f, defaults/main.yml has value True",
        "demo: entry point main documents template default '{{ platform_h | default(3) }}' for demo_h, of type int",
        'demo: entry point main says neither the default of demo_i nor that it comes from platform_i',
        'demo: demo_g (defaults/main.yml) is an option of no entry point',
    ]
