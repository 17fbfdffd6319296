# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``log_scan``: the lines of a log that match the runbook's grep, with every known secret masked."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types
from ansible.module_utils.six.moves.urllib.parse import quote

MASK = '********'


def _spellings(secret):
    """A secret as it can appear in a log line: raw, URL-quoted, JSON-escaped."""
    found = {secret, quote(secret, safe=''), quote(secret, safe='/:'), secret.replace('/', '\\/')}
    return sorted((s for s in found if s), key=len, reverse=True)


def log_scan(lines, patterns, secrets=None, limit=20, ignore_case=True):
    """Return ``{'count': N, 'lines': [...]}``: N lines of ``lines`` match any regular expression of
    ``patterns``; ``lines`` holds the last ``limit`` of them, each with every secret masked."""
    if isinstance(lines, string_types):
        lines = lines.splitlines()
    if not isinstance(lines, (list, tuple)):
        raise AnsibleFilterError('log_scan: lines must be a list of strings or a string')
    if isinstance(patterns, string_types):
        patterns = [patterns]
    try:
        regexes = [re.compile(p, re.IGNORECASE if ignore_case else 0) for p in patterns]
    except (re.error, TypeError) as exc:
        raise AnsibleFilterError('log_scan: bad pattern: %s' % exc)
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise AnsibleFilterError('log_scan: limit must be an integer')
    masks = []
    for secret in secrets or []:
        if secret:
            masks.extend(_spellings(str(secret)))
    masks.sort(key=len, reverse=True)
    matched = []
    for line in lines:
        line = str(line)
        if any(r.search(line) for r in regexes):
            # Redact before truncating, so a cut never leaves half a secret behind.
            for secret in masks:
                line = line.replace(secret, MASK)
            matched.append(line[:500])
    return {'count': len(matched), 'lines': matched[-limit:] if limit > 0 else []}


class FilterModule(object):
    def filters(self):
        return {'log_scan': log_scan}
