# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""docs/platform-variables.md is the reference of the platform_* inventory contract, kept in step with the code.

Every platform_* variable the roles, playbooks and plugins read, or the shipped inventories set, has a row; every
row is read somewhere; each row's "Read by" names exactly the roles (by name), playbook files and plugin files that
read it. A role that starts reading a new platform_* variable fails here until the reference documents it.

What counts as a read: the name in a role's defaults, tasks, templates or vars (not meta/argument_specs.yml, which
documents the defaults) or in a playbook, outside comment lines; in a plugin's Python, the name as a string literal
that is no dict key looked up (``'platform_x'``, not ``d['platform_x']`` or ``d.get('platform_x')``): the filter
``platform_secret_values`` reads variables by name. Names of the collection's own plugins (``platform_info``,
``platform_secret_values``) are no variables.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
REFERENCE = os.path.join('docs', 'platform-variables.md')
NAME = re.compile(r'\bplatform_\w+')
# In Python: a variable named by a string, not a key looked up in a dict (checks['platform_name'], .get('...')).
PY_NAME = re.compile(r"(?<!\[)(?<!get\()['\"](platform_\w+)['\"]")
ROW = re.compile(r'^\|\s*`(platform_\w+)`\s*\|')
# Every variable's type and requirement, as data for the play-start check: it names them all, it reads none.
CONTRACT = 'plugins/module_utils/_platform_contract.py'


def _code(path):
    """The file's text without its comment lines (a name in a comment is not read)."""
    with open(path, encoding='utf-8') as handle:
        return ''.join(line for line in handle if not line.lstrip().startswith('#'))


def plugin_names(root=ROOT):
    """The collection's plugins whose names start like a variable (a module, filter or lookup name is none)."""
    names = set()
    for pattern in ('plugins/modules/*.py', 'plugins/lookup/*.py', 'plugins/filter/*.yml'):
        names.update(os.path.splitext(os.path.basename(path))[0] for path in glob.glob(os.path.join(root, pattern)))
    return names


def _files(root, top, suffixes):
    for directory, dirs, files in os.walk(os.path.join(root, top)):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(files):
            if name.endswith(suffixes):
                yield os.path.join(directory, name)


def readers(root=ROOT):
    """platform_* variable -> the set of readers: a role's name, a playbook's or a plugin's path."""
    skip = plugin_names(root)
    found = {}

    def add(name, reader):
        if name not in skip:
            found.setdefault(name, set()).add(reader)

    roles = os.path.join(root, 'roles')
    for role in sorted(os.listdir(roles)):
        for path in _files(root, os.path.join('roles', role), ('.yml', '.yaml', '.j2')):
            if os.path.relpath(path, os.path.join(roles, role)).split(os.sep)[0] == 'meta':
                continue
            for name in NAME.findall(_code(path)):
                add(name, role)
    for path in _files(root, 'playbooks', ('.yml', '.yaml')):
        for name in NAME.findall(_code(path)):
            add(name, os.path.relpath(path, root).replace(os.sep, '/'))
    for path in _files(root, 'plugins', ('.py',)):
        if os.path.relpath(path, root).replace(os.sep, '/') == CONTRACT:
            continue  # the contract itself, not a reader (tests/unit/plugins/module_utils/test_platform_contract.py)
        with open(path, encoding='utf-8') as handle:
            for name in PY_NAME.findall(handle.read()):
                add(name, os.path.relpath(path, root).replace(os.sep, '/'))
    return found


def inventory_names(root=ROOT):
    """The platform_* names the shipped inventories set or use (group_vars, every environment)."""
    names = set()
    for path in glob.glob(os.path.join(root, 'inventories', '*', 'group_vars', '**', '*.yml'), recursive=True):
        names.update(NAME.findall(_code(path)))
    return names - plugin_names(root)


def reference(root=ROOT):
    """The reference's rows: variable -> {column header: cell}."""
    rows, header = {}, None
    with open(os.path.join(root, REFERENCE), encoding='utf-8') as handle:
        for line in handle:
            if not line.startswith('|'):
                header = None if not line.strip() else header
                continue
            cells = [cell.strip() for cell in re.split(r'(?<!\\)\|', line.strip())[1:-1]]
            if cells and cells[0] == 'Variable':
                header = cells
                continue
            match = ROW.match(line)
            if not match:
                continue
            assert header and len(cells) == len(header), 'malformed row in %s: %s' % (REFERENCE, line)
            name = match.group(1)
            assert name not in rows, '%s documents %s twice' % (REFERENCE, name)
            rows[name] = dict(zip(header, cells))
    return rows


def read_by(row):
    return set(re.findall(r'`([^`]+)`', row['Read by']))


def test_every_variable_read_or_set_is_documented():
    documented = set(reference())
    used = set(readers()) | inventory_names()
    missing = sorted(used - documented)
    assert not missing, 'platform_* variables missing from %s: %s' % (REFERENCE, ', '.join(missing))


def test_every_documented_variable_is_read():
    unread = sorted(set(reference()) - set(readers()))
    assert not unread, '%s documents variables nothing reads: %s' % (REFERENCE, ', '.join(unread))


def test_read_by_names_exactly_the_readers():
    code = readers()
    wrong = ['%s: reference says %s, the code %s' % (name, sorted(read_by(row)), sorted(code.get(name, ())))
             for name, row in sorted(reference().items()) if read_by(row) != code.get(name, set())]
    assert not wrong, 'wrong "Read by" in %s:\n%s' % (REFERENCE, '\n'.join(wrong))


def test_every_row_says_type_default_and_meaning():
    for name, row in reference().items():
        for column in ('Type', 'Default', 'Meaning'):
            assert row[column] and row[column] != '-', (name, column)


def test_the_variables_required_for_every_platform_are_required_and_set_by_every_shipped_platform():
    with open(os.path.join(ROOT, REFERENCE), encoding='utf-8') as handle:
        text = handle.read()
    section = text.split('## Required for every platform', 1)[1].split('\n## ', 1)[0]
    required = set(re.findall(r'`(platform_\w+)`', section.split('Required only with a feature')[0]))
    rows = reference()
    assert required and required <= set(rows)
    # the list is the rows whose default says required (in full or for some role)
    assert required == {name for name, row in rows.items() if row['Default'].startswith('required')}
    for path in glob.glob(os.path.join(ROOT, 'inventories', '*', 'group_vars', '*.yml')):
        with open(path, encoding='utf-8') as handle:
            unset = sorted(required - set(yaml.safe_load(handle) or {}))
        assert not unset, '%s does not set %s' % (os.path.relpath(path, ROOT), ', '.join(unset))


def test_a_new_variable_in_a_role_is_seen(tmp_path):
    """The scan itself, on a small tree: a role's defaults and tasks, a playbook, a plugin reading by name; not a
    comment, the role's argument_specs, a module's name, nor a dict key in Python."""
    for relative, text in {
            'roles/demo/defaults/main.yml': 'demo_x: "{{ platform_new_thing | default(1) }}"\n# platform_in_comment\n',
            'roles/demo/meta/argument_specs.yml': 'x: "{{ platform_only_documented }}"\n',
            'roles/demo/tasks/main.yml': '- tgops.runbooks.platform_info:\n    name: "{{ platform_name }}"\n',
            'playbooks/tasks/x.yml': '- ansible.builtin.debug:\n    msg: "{{ platform_name }}"\n',
            'plugins/modules/platform_info.py': '',
            'plugins/filter/x.py': "NAMES = ('platform_by_name',)\nA = b['platform_key'] or b.get('platform_key2')\n",
    }.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert readers(str(tmp_path)) == {
        'platform_new_thing': {'demo'},
        'platform_name': {'demo', 'playbooks/tasks/x.yml'},
        'platform_by_name': {'plugins/filter/x.py'},
    }
