# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Until the first release, the changelog fragments describe a release, not a diary.

Nothing has been released (changelogs/changelog.yaml has no release), so no user had a bug to be fixed, a
behaviour to be broken or an option to see deprecated: a fix of unreleased code is a ``trivial`` entry (kept in
the history, not in the release notes). The notes are one release summary and what the collection does
(``major_changes``, ``minor_changes``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BEFORE_THE_FIRST_RELEASE = ('release_summary', 'major_changes', 'minor_changes', 'trivial')


def _load(path):
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle) or {}


def fragments():
    return sorted(glob.glob(os.path.join(ROOT, 'changelogs', 'fragments', '*.yml')))


def released():
    return bool(_load(os.path.join(ROOT, 'changelogs', 'changelog.yaml')).get('releases'))


def test_there_are_fragments():
    assert len(fragments()) > 10


@pytest.mark.skipif(released(), reason='the collection has been released: every section is allowed again')
def test_no_fix_break_or_deprecation_of_what_was_never_released():
    wrong = dict((os.path.basename(path), sorted(set(_load(path)) - set(BEFORE_THE_FIRST_RELEASE)))
                 for path in fragments())
    assert dict((name, sections) for name, sections in wrong.items() if sections) == {}


@pytest.mark.skipif(released(), reason='the collection has been released: each release has its own summary')
def test_one_release_summary():
    assert [os.path.basename(path) for path in fragments() if 'release_summary' in _load(path)] == \
        ['release-0.1.0.yml']
