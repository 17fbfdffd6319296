# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Octal permission modes as the modules' mode options take them (private to tgops.runbooks)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

_OCTAL = re.compile(r'^0?[0-7]{3,4}$')


def octal_mode(value):
    """An octal mode (``'0640'``, ``'640'`` or the int a YAML octal number becomes) as an int; None when the value
    is not one (symbolic modes included). Each module words its own error, naming its option."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 0o7777 else None
    if isinstance(value, str) and _OCTAL.match(value.strip()):
        return int(value.strip(), 8)
    return None
