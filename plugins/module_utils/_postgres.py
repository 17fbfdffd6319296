# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One PostgreSQL connection contract for the collection's modules (private).

The option names, aliases and deprecations of community.postgresql 4.2's ``postgres_common_argument_spec()``
and of its modules' ``login_db``, documented once in ``plugins/doc_fragments/_postgres.py``, so that one
``module_defaults`` (the ``postgresql`` action group in ``meta/runtime.yml``) serves both collections. The
modules drive the PostgreSQL client programs (psql, pg_dump, pg_restore) rather than a Python driver: the
contract turns into command-line arguments (never the password) and libpq environment variables, built by
the Ansible-free client layer in ``_pg_backup.py`` (which the scheduled backup runner also uses). The password
reaches libpq in a private password file (``PGPASSFILE``), never in argv or ``PGPASSWORD``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._pg_backup import (
    conn_argv,
    conn_environ,
    connect_params_problem,
    quote_ident as _quote_ident,
)

# the client layer's identifier quoting, for the modules' SQL
quote_ident = _quote_ident

SSL_MODES = ['allow', 'disable', 'prefer', 'require', 'verify-ca', 'verify-full']
COLLECTION = 'tgops.runbooks'
# the release that drops the aliases deprecated here
ALIAS_REMOVAL = '2.0.0'


def _deprecated(names):
    return [dict(name=name, version=ALIAS_REMOVAL, collection_name=COLLECTION) for name in names]


def postgres_common_argument_spec():
    """Connection options shared by every module that talks to PostgreSQL.

    The names and aliases of community.postgresql 4.2, with its deprecations (here removed from this
    collection in its 2.0.0), plus ``connect_timeout`` (``PGCONNECT_TIMEOUT``)."""
    return dict(
        login_user=dict(type='str', default='postgres', aliases=['login'], deprecated_aliases=_deprecated(['login'])),
        login_password=dict(type='str', default='', no_log=True),
        login_host=dict(type='str', default='', aliases=['host'], deprecated_aliases=_deprecated(['host'])),
        login_unix_socket=dict(type='str', default='', aliases=['unix_socket'],
                               deprecated_aliases=_deprecated(['unix_socket'])),
        # port was this collection's primary name before 0.1.0's release, login_port community.postgresql's
        login_port=dict(type='int', default=5432, aliases=['port'], deprecated_aliases=_deprecated(['port'])),
        ssl_mode=dict(type='str', default='prefer', choices=SSL_MODES),
        ca_cert=dict(type='str', aliases=['ssl_rootcert']),
        ssl_cert=dict(type='path'),
        ssl_key=dict(type='path'),
        connect_params=dict(type='dict', default={}),
        connect_timeout=dict(type='int', default=10),
    )


def postgres_maintenance_db_spec():
    """``maintenance_db`` (as in community.postgresql's postgresql_db): where CREATE/DROP DATABASE run."""
    return dict(type='str', default='postgres')


def postgres_login_db_spec(old_aliases=()):
    """``login_db``, the database a module works on, as community.postgresql's modules name it: alias ``db``,
    deprecated. ``old_aliases`` are this module's former names, deprecated too."""
    aliases = ['db'] + [name for name in old_aliases if name != 'db']
    return dict(type='str', required=True, aliases=aliases,
                deprecated_aliases=_deprecated(aliases))


def postgres_module(argument_spec, login_db_aliases=None, maintenance_db=False, **kwargs):
    """The AnsibleModule of a module that works on one database: the connection contract, ``login_db`` (with
    this module's former names ``login_db_aliases``, see postgres_login_db_spec()), ``maintenance_db`` when it
    creates or drops databases, then ``argument_spec``; fails on connection options that cannot be used.
    Documented by the ``tgops.runbooks._postgres`` fragments (``.login_db`` or ``.login_db_name``)."""
    spec = postgres_common_argument_spec()
    spec['login_db'] = postgres_login_db_spec(login_db_aliases or ())
    if maintenance_db:
        spec['maintenance_db'] = postgres_maintenance_db_spec()
    spec.update(argument_spec)
    module = new_module(spec, supports_check_mode=True, **kwargs)
    problem = connection_problem(module.params)
    if problem:
        module.fail_json(msg=problem)
    return module


def connection_problem(params):
    """None if the connection options can be used, else a message naming the option."""
    port = params.get('login_port')
    if port is not None and not 1 <= port <= 65535:
        return 'login_port must be between 1 and 65535 (got %d)' % port
    timeout = params.get('connect_timeout')
    if timeout is not None and timeout < 0:
        return 'connect_timeout cannot be negative (got %d)' % timeout
    password = params.get('login_password') or ''
    if '\n' in password or '\r' in password:
        # it reaches libpq in a password file, one line per entry (never in PGPASSWORD: see conn_environ())
        return 'login_password contains a line break, which a libpq password file cannot hold'
    return connect_params_problem(params.get('connect_params'))


def conn_from_params(params):
    """The connection contract as the ``conn`` dict of ``_pg_backup`` (host, unix_socket, port, user, password,
    env: the libpq SSL and timeout variables, connect_params)."""
    env = {'PGSSLMODE': params.get('ssl_mode') or 'prefer',
           'PGCONNECT_TIMEOUT': str(params.get('connect_timeout') or 10)}
    for option, variable in (('ca_cert', 'PGSSLROOTCERT'), ('ssl_cert', 'PGSSLCERT'), ('ssl_key', 'PGSSLKEY')):
        if params.get(option):
            env[variable] = params[option]
    return {'host': params.get('login_host'), 'unix_socket': params.get('login_unix_socket'),
            'port': params.get('login_port'), 'user': params.get('login_user'),
            'password': params.get('login_password'), 'env': env,
            'connect_params': params.get('connect_params') or {}}


def libpq_argv(params, dbname):
    """Client program arguments for host, port, user and database; never the password (see conn_argv())."""
    return conn_argv(conn_from_params(params), dbname)


def libpq_environ(params, password=True):
    """libpq environment for the client programs (never the password in argv or ``PGPASSWORD``). With
    ``password``, ``PGPASSFILE`` names a private password file that lives as long as the module's process;
    without, the caller gives the password itself (a ``_pg_backup.PassFile`` around the call)."""
    return conn_environ(conn_from_params(params), password_env=password)
