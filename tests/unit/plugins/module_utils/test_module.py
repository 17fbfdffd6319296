# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_module.new_module, the one constructor of every module: a value ansible-core's own validation would crash on
(OverflowError, TypeError) fails with a message naming the option, in every one of the 29 modules."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ast
import glob
import importlib
import os

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils._module import bad_int_message, option_problems

from tgops_module_runner import module_argument_spec, run_module

MODULES_DIR = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'modules')
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(MODULES_DIR, '*.py'))
                 if not os.path.basename(p).startswith('_'))
SPEC = {
    'port': dict(type='int', default=5432, aliases=['login_port']),
    'ports': dict(type='list', elements='int'),
    'ratio': dict(type='float'),
    'retention': dict(type='dict', options=dict(keep=dict(type='int'), keep_days=dict(type='int'))),
    'name': dict(type='str'),
}


def _load(name):
    return importlib.import_module('ansible_collections.tgops.runbooks.plugins.modules.%s' % name)


def test_there_are_29_modules():
    assert len(MODULES) == 29


@pytest.mark.parametrize('args, problems', [
    ({'port': 5432, 'ports': [1, '2'], 'ratio': 1.5, 'retention': {'keep': 3}, 'name': 'x'}, []),
    ({'port': '5432', 'ratio': '1e999', 'retention': None}, []),
    ({'port': float('inf')}, ['port must be an integer, got inf']),
    ({'login_port': 'Infinity'}, ['port must be an integer, got Infinity']),
    ({'port': '1e999999999'}, ['port must be an integer, got 1e999999999']),
    ({'ports': [1, float('nan')]}, ['ports must be a list of integers, got [1, nan]']),
    ({'ratio': 10 ** 400}, ['ratio must be a number, got %d' % 10 ** 400][:1]),
    ({'retention': False}, ['retention must be a dictionary (with keep, keep_days), got False']),
    ({'retention': {'keep': float('-inf')}}, ['retention.keep must be an integer, got -inf']),
])
def test_option_problems(args, problems):
    found = option_problems(args, SPEC)
    assert [p[:80] for p in found] == [p[:80] for p in problems]
    assert bad_int_message(args, SPEC) == ('; '.join(found) or None)


@pytest.mark.parametrize('name', MODULES)
def test_every_module_is_built_by_the_one_constructor(name):
    """No module builds its AnsibleModule itself: main() goes through new_module (or postgres_module or
    run_api_module, which use it)."""
    with open(os.path.join(MODULES_DIR, name + '.py')) as handle:
        tree = ast.parse(handle.read())
    calls = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert 'AnsibleModule' not in calls
    assert calls & {'new_module', 'postgres_module', 'run_api_module'}


def _int_options(name):
    spec = module_argument_spec(_load(name))
    return sorted(opt for opt, option in spec.items() if option.get('type') == 'int')


@pytest.mark.parametrize('name', MODULES)
def test_every_module_refuses_an_infinite_integer_by_name(name):
    options = _int_options(name)
    if not options:
        pytest.skip('%s has no int option' % name)
    for option in options:
        result = run_module(_load(name), {option: float('inf')})
        assert result.get('failed'), (option, result)
        assert result['msg'] == '%s must be an integer, got inf' % option, (option, result['msg'])
