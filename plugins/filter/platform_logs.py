# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``platform_logs``: the log lines a registered platform_info result read, and why they could not be read."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text


def shorten(text, length=200):
    """Jinja's ``truncate(length)`` (leeway 5, whole words, ``...``): the roles' reports keep their text."""
    text = to_text(text)
    if len(text) <= length + 5:
        return text
    return text[:length - 3].rsplit(' ', 1)[0] + '...'


def platform_logs(result):
    """``{'count': N, 'lines': [...], 'failure': ''}`` from a platform_info result registered with
    ``failed_when: false``: ``failure`` says why (some) logs were not read, empty when all were."""
    if not isinstance(result, dict):
        raise AnsibleFilterError('platform_logs: expects a registered tgops.runbooks.platform_info result, got %s'
                                 % type(result).__name__)
    logs = result.get('logs')
    if not isinstance(logs, dict):
        # the module failed (or was skipped): nothing was read, and its message says why
        return {'count': 0, 'lines': [], 'failure': to_text(result.get('msg') or 'unknown error')}
    return {'count': int(logs.get('error_count') or 0), 'lines': [to_text(x) for x in logs.get('errors') or []],
            'failure': '; '.join(to_text(x) for x in logs.get('failures') or [])}


class FilterModule(object):
    def filters(self):
        return {'platform_logs': platform_logs}
