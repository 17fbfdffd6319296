# -*- coding: utf-8 -*-
# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the application really runs with: its env file's values, read on the host (private).

The runbooks check the credentials the app uses (`grep BOT_TOKEN .env.production`), not the vault's copy; when the
two disagree - the usual cause of a credentials incident - a check of the vault's value passes while the app fails.
The API and PostgreSQL modules read the app's values here, use them, and report only whether each equals the value
they were given (the vault's). Nothing here returns, logs or puts a value in a message.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

# An env file larger than this is not an env file: refused rather than read into memory.
MAX_BYTES = 1048576
_LINE = re.compile(r'^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$')
_ESCAPES = {'n': '\n', 't': '\t', 'r': '\r', '"': '"', '\\': '\\', '$': '$'}

# The app-env options every module that takes them shares (doc fragment tgops.runbooks._app_env).
ARGUMENT_SPEC = dict(
    app_env_file=dict(type='path'),
    app_env_names=dict(type='dict'),
)


def _unquote(raw):
    """One value as docker compose and python-dotenv read it: quoted (escapes in double quotes), or bare up to an
    inline `` #`` comment."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner, out, i = value[1:-1], [], 0
        while i < len(inner):
            if inner[i] == '\\' and i + 1 < len(inner):
                out.append(_ESCAPES.get(inner[i + 1], '\\' + inner[i + 1]))
                i += 2
            else:
                out.append(inner[i])
                i += 1
        return ''.join(out)
    comment = re.search(r'\s#', raw)  # on the raw text: `A= # note` sets A to nothing, `A=#x` to "#x"
    return raw[:comment.start()].strip() if comment else value


def parse_env(text):
    """Name -> value of a dotenv text; the last assignment of a name wins, as in every dotenv reader."""
    values = {}
    for line in (text or '').splitlines():
        if line.lstrip().startswith('#'):
            continue
        match = _LINE.match(line)
        if match:
            values[match.group(1)] = _unquote(match.group(2))
    return values


def read_env_file(path):
    """(values, problem): the file's values, or {} and a sentence naming the file (never a value)."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read(MAX_BYTES + 1)
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return {}, "the app's env file %s does not exist" % path
        return {}, "cannot read the app's env file %s: %s" % (path, exc.strerror or type(exc).__name__)
    if len(data) > MAX_BYTES:
        return {}, "the app's env file %s is larger than %d bytes: not an env file" % (path, MAX_BYTES)
    return parse_env(data.decode('utf-8', 'replace')), ''


def app_credentials(path, names, given):
    """The credentials the app runs with, compared with the given ones.

    ``names``: option -> env variable (e.g. ``{'bot_token': 'TELEGRAM_BOT_TOKEN'}``); ``given``: option -> the
    value the task was given (the vault's; empty when none). Returns ``(use, match, findings)``: the value of each
    option to check (the app's when it sets one, else the given one), option -> True/False/None (None: nothing to
    compare), and sentences naming variables only."""
    values, problem = read_env_file(path)
    use, match, findings = {}, {}, []
    if problem:
        findings.append(problem + ': checked the given credentials instead')
    for option in sorted(names):
        variable, mine = names[option], given.get(option) or ''
        app = values.get(variable) or ''
        if not problem and not app:
            findings.append("the app's env file %s sets no %s: the app runs without it" % (path, variable))
        use[option] = app or mine
        match[option] = (app == mine) if (app and mine) else None
        if match[option] is False:
            findings.append("the app's %s (in %s) differs from the one this run was given (the vault's): the app runs "
                            "with a credential the vault does not hold, and the checks used the app's" % (variable, path))
    return use, match, findings
