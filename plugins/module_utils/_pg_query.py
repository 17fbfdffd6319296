# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run SQL through psql and read its answer as JSON (private).

The connection follows ``_postgres.py``: host, port, user and database on psql's command line, the password
in a private libpq password file (``PGPASSFILE``, 0600) that exists only while psql runs, never in argv or in
``PGPASSWORD`` (which /proc/<pid>/environ shows). The SQL goes in on standard input, so nothing of it shows in ``ps``. Every query is one
statement that returns one JSON value, which psql prints unaligned and without headers (``-A -t``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible_collections.tgops.runbooks.plugins.module_utils._pg_backup import BackupError, PassFile
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import libpq_argv, libpq_environ

# Utility statements (ALTER ROLE ... PASSWORD '...') reach pg_stat_statements with their literals intact.
_PASSWORD_LITERAL = re.compile(r"(PASSWORD\s+)('(?:[^']|'')*'|\$[A-Za-z0-9_]*\$.*?\$[A-Za-z0-9_]*\$)",
                               re.IGNORECASE | re.DOTALL)


class PgQueryError(Exception):
    """psql failed: ``msg`` is its first error line, with the password masked."""

    def __init__(self, msg, rc):
        super(PgQueryError, self).__init__(msg)
        self.msg = msg
        self.rc = rc


def redact_text(text, secrets):
    """Mask every secret, and password literals of utility statements, in ``text``."""
    if text is None:
        return text
    text = _PASSWORD_LITERAL.sub(r"\1'********'", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, '********')
    return text


def psql_argv(psql, params, dbname):
    return [psql, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'] + libpq_argv(params, dbname)


def first_error(stderr):
    """The line that says what went wrong (psql prints context lines after it)."""
    lines = [line.strip() for line in (stderr or '').splitlines() if line.strip()]
    for line in lines:
        if 'ERROR:' in line or 'FATAL:' in line or line.startswith('psql:'):
            return line
    return lines[0] if lines else 'no error output'


class PgSession(object):
    """Runs statements as ``params`` (the _postgres connection contract) against ``dbname``.

    ``run_command`` is AnsibleModule.run_command (argv, environ_update=..., data=...)."""

    def __init__(self, run_command, psql, params, dbname):
        self.run_command = run_command
        self.argv = psql_argv(psql, params, dbname)
        self.env = libpq_environ(params, password=False)
        self.password = params.get('login_password') or ''
        self.secrets = [self.password]

    def execute(self, sql):
        """Run ``sql``; returns psql's standard output. Raises PgQueryError on failure."""
        try:
            with PassFile(self.password) as passfile:
                env = dict(self.env)
                if passfile.path:
                    env['PGPASSFILE'] = passfile.path
                rc, out, err = self.run_command(self.argv, environ_update=env, data=sql, binary_data=False)
        except BackupError as exc:  # a password a password file cannot hold (connection_problem() says it first)
            raise PgQueryError(exc.message, 2)
        if rc != 0:
            raise PgQueryError(redact_text(first_error(err), self.secrets), rc)
        return out

    def query_json(self, select):
        """Run a SELECT returning one json value per the whole statement; returns it decoded."""
        out = self.execute(select.rstrip().rstrip(';') + ';\n').strip()
        if not out:
            return None
        try:
            return json.loads(out)
        except ValueError:
            raise PgQueryError('psql answered something that is not JSON: %r'
                               % redact_text(out[:200], self.secrets), 0)

    def query_rows(self, select):
        """Rows of ``select`` as a list of dicts (json_agg of the rows)."""
        sql = "SELECT coalesce(json_agg(t), '[]'::json) FROM (%s) t" % select.rstrip().rstrip(';')
        return self.query_json(sql) or []
