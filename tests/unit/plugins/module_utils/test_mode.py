# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils._mode import octal_mode


@pytest.mark.parametrize('value, mode', [
    ('0750', 0o750), ('750', 0o750), (' 0640 ', 0o640), ('1777', 0o1777), (0o600, 0o600), (0, 0), (0o7777, 0o7777),
])
def test_octal_modes_as_strings_or_yaml_octal_numbers(value, mode):
    assert octal_mode(value) == mode


@pytest.mark.parametrize('value', ['rwx', 'u=rw,g=r', '0758', '77777', '75', '-1', '', None, True, -1, 0o10000, 7.5])
def test_anything_else_is_none(value):
    assert octal_mode(value) is None
