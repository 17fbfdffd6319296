# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One PostgreSQL connection contract for the collection's modules (private).

Modelled on community.postgresql's ``postgres_common_argument_spec()``: the same option names and aliases,
documented once in ``plugins/doc_fragments/_postgres.py``. The modules drive the PostgreSQL client programs
(psql, pg_restore) rather than a Python driver, so the contract turns into command-line arguments (never
the password) and libpq environment variables (``PGPASSWORD`` and friends), which ``ps`` does not show.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


SSL_MODES = ['allow', 'disable', 'prefer', 'require', 'verify-ca', 'verify-full']


def postgres_common_argument_spec():
    """Connection options shared by every module that talks to PostgreSQL."""
    return dict(
        login_user=dict(type='str', default='postgres', aliases=['login']),
        login_password=dict(type='str', default='', no_log=True),
        login_host=dict(type='str', default='', aliases=['host']),
        login_unix_socket=dict(type='str', default='', aliases=['unix_socket']),
        port=dict(type='int', default=5432, aliases=['login_port']),
        maintenance_db=dict(type='str', default='postgres', aliases=['login_db']),
        ssl_mode=dict(type='str', default='prefer', choices=SSL_MODES),
        ca_cert=dict(type='str', aliases=['ssl_rootcert']),
        connect_timeout=dict(type='int', default=10),
    )


def conninfo_value(value):
    """A libpq connection-string value in single quotes, backslash and quote escaped."""
    return "'%s'" % value.replace('\\', '\\\\').replace("'", "\\'")


def dbname_conninfo(dbname):
    """The ``--dbname`` argument for ``dbname``: a connection string with that one key.

    psql and pg_restore read a ``--dbname`` containing ``=`` (or starting with ``postgresql://``) as a whole
    connection string, so a database name such as ``x host=other dbname=prod`` would connect elsewhere.
    Always passing ``dbname='...'`` makes libpq take the name literally, whatever characters it has."""
    return 'dbname=%s' % conninfo_value(dbname)


def libpq_argv(params, dbname):
    """Client program arguments for host, port, user and database; never the password.

    ``--no-password`` makes a missing or wrong password fail at once instead of waiting for a prompt. The
    database name goes in as a quoted connection-string value (see dbname_conninfo())."""
    argv = []
    host = params.get('login_unix_socket') or params.get('login_host')
    if host:
        argv.extend(['--host', host])
    argv.extend(['--port', str(params.get('port') or 5432)])
    if params.get('login_user'):
        argv.extend(['--username', params['login_user']])
    argv.extend(['--no-password', '--dbname', dbname_conninfo(dbname)])
    return argv


def libpq_environ(params):
    """libpq environment for the client programs: the password travels here, not in argv."""
    env = {
        'PGSSLMODE': params.get('ssl_mode') or 'prefer',
        'PGCONNECT_TIMEOUT': str(params.get('connect_timeout') or 10),
        'PGAPPNAME': 'tgops.runbooks',
    }
    if params.get('login_password'):
        env['PGPASSWORD'] = params['login_password']
    if params.get('ca_cert'):
        env['PGSSLROOTCERT'] = params['ca_cert']
    return env


def quote_ident(name):
    """Quote a possibly schema-qualified identifier: ``public.users`` -> ``"public"."users"``."""
    parts = name.split('.', 1) if not name.startswith('"') else [name]
    quoted = []
    for part in parts:
        if part.startswith('"') and part.endswith('"') and len(part) > 1:
            part = part[1:-1].replace('""', '"')
        quoted.append('"%s"' % part.replace('"', '""'))
    return '.'.join(quoted)
