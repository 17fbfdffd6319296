# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The roles that run backup_verify on a host can install ISA-L's inflater there: one option per role, off by
default, documented, and the version they install is the one requirements.txt and requirements-ee.txt pin."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
ROLES = {'backup': ('backup_verify_install_isal', 'tasks/main.yml'),
         'checks': ('checks_backup_verify_install_isal', 'tasks/main.yml'),
         'restore': ('restore_backup_verify_install_isal', 'tasks/restore.yml')}


def _load(*parts):
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def _pin(name):
    with open(os.path.join(ROOT, name), encoding='utf-8') as handle:
        pins = re.findall(r'^isal==(\S+)$', handle.read(), re.M)
    assert len(pins) == 1, (name, pins)
    return pins[0]


@pytest.mark.parametrize('role', sorted(ROLES))
def test_option_is_off_by_default_documented_and_installs_the_pinned_isal(role):
    option, tasks_file = ROLES[role]
    assert _load('roles', role, 'defaults', 'main.yml')[option] is False
    spec = _load('roles', role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options'][option]
    assert spec['type'] == 'bool' and spec['default'] is False
    tasks = _load('roles', role, *tasks_file.split('/'))
    names = [t['name'] for t in tasks]
    install = [t for t in tasks if 'ansible.builtin.pip' in t]
    assert len(install) == 1
    assert install[0]['when'] == '%s | bool' % option
    assert install[0]['ansible.builtin.pip']['name'] == 'isal==%s' % _pin('requirements.txt')
    # installed before the module that uses it runs
    verify = [i for i, t in enumerate(tasks) if 'tgops.runbooks.backup_verify' in t]
    assert verify and names.index(install[0]['name']) < verify[0]


def test_controller_and_ee_pin_the_same_isal():
    assert _pin('requirements.txt') == _pin('requirements-ee.txt')
