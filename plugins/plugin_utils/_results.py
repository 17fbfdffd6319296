# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the collection's filters read in the results roles register (private).

This is a private plugin_utils (leading underscore): its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def ran(result):
    """Whether ``result`` is the registered result of a task that ran: a non-empty dict that was not skipped (a task
    that never ran registers nothing, or ``{}`` through a ``default({})``)."""
    return isinstance(result, dict) and bool(result) and not result.get('skipped')
