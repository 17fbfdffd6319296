# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""No plugin, option or return value says it was added in a version after the one galaxy.yml names: before the
first release everything is new in it (0.1.0), and after a release only the next version may appear."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
VERSION_ADDED = re.compile(r'''version_added:\s*['"]?([0-9][0-9.]*)['"]?''')


def _version(text):
    return tuple(int(part) for part in text.split('.'))


def test_no_version_added_is_after_the_collection_version():
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        galaxy = _version(yaml.safe_load(handle)['version'])
    found = []
    for base, dirs, files in os.walk(os.path.join(ROOT, 'plugins')):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in files:
            if not name.endswith(('.py', '.yml', '.yaml')):
                continue
            path = os.path.join(base, name)
            with open(path) as handle:
                for number, line in enumerate(handle, 1):
                    match = VERSION_ADDED.search(line)
                    if match:
                        found.append((os.path.relpath(path, ROOT), number, match.group(1)))
    assert len(found) >= 40, 'the scan found the modules and filters'
    later = ['%s:%d version_added %s' % entry for entry in found if _version(entry[2]) > galaxy]
    assert later == [], 'after galaxy.yml version %s: %s' % ('.'.join(map(str, galaxy)), later)
