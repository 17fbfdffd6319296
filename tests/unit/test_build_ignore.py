# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Galaxy tarball leaves out the lab and the AWX configuration (galaxy.yml build_ignore), so the unit tests that
read them stay out too: in an installed collection they could not even import."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
# a path built into a directory the tarball leaves out: a join of ROOT, or of a parent (..), with the directory
READS_LEFT_OUT = re.compile(r'''(ROOT, *|["']\.\.["'], *)["'](?P<dir>[A-Za-z_.-]+)["']''')


def _ignored(path, patterns):
    return any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip('/') + '/') for p in patterns)


def test_unit_tests_of_left_out_code_are_left_out_too():
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        patterns = yaml.safe_load(handle)['build_ignore']
    # the project's own directories the tarball leaves out (not the checkout's generated ones, such as .lab)
    left_out_dirs = {p for p in patterns if os.path.isdir(os.path.join(ROOT, p)) and '/' not in p
                     and not p.startswith('.')}
    assert {'lab', 'awx'} <= left_out_dirs
    found = []
    for base, dirs, files in os.walk(os.path.join(ROOT, 'tests', 'unit')):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.relpath(os.path.join(base, name), ROOT)
            with open(os.path.join(ROOT, path)) as handle:
                dirs_read = {m.group('dir') for m in READS_LEFT_OUT.finditer(handle.read())}
            if dirs_read & left_out_dirs:
                found.append(path)
                assert _ignored(path, patterns), '%s reads %s, which the tarball leaves out: add it to build_ignore' % (
                    path, ', '.join(sorted(dirs_read & left_out_dirs)))
    assert 'tests/unit/lab/conftest.py' in found, 'the scan finds the lab tests'
