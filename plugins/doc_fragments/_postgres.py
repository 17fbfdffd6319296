# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # PostgreSQL connection options, the community.postgresql 4.2 contract (names, aliases, deprecations).
    # Matches postgres_common_argument_spec() in plugins/module_utils/_postgres.py.
    DOCUMENTATION = r"""
options:
  login_user:
    description:
      - The role to connect as.
      - The alias C(login) is deprecated and will be removed in version 2.0.0, as in
        C(community.postgresql).
    type: str
    default: postgres
    aliases: [login]
  login_password:
    description:
      - The password of O(login_user).
      - It reaches the PostgreSQL client programs in a private libpq password file (mode 0600, C(PGPASSFILE))
        that exists while they run, never on their command line or in their environment (C(PGPASSWORD) would be
        readable in C(/proc/<pid>/environ) by other processes of the same user), and is not returned.
      - It cannot contain a line break (a password file holds one entry per line).
      - When empty, libpq in the client programs reads E(PGPASSWORD) from the environment they inherit.
    type: str
    default: ''
  login_host:
    description:
      - Host name or IP address of the PostgreSQL server.
      - Empty connects through the default Unix socket (see O(login_unix_socket)).
      - The alias C(host) is deprecated and will be removed in version 2.0.0, as in C(community.postgresql).
    type: str
    default: ''
    aliases: [host]
  login_unix_socket:
    description:
      - Directory of the server's Unix socket; takes precedence over O(login_host).
      - The alias C(unix_socket) is deprecated and will be removed in version 2.0.0, as in C(community.postgresql).
    type: str
    default: ''
    aliases: [unix_socket]
  login_port:
    description:
      - Server port.
      - The alias C(port) is deprecated and will be removed in version 2.0.0, as in C(community.postgresql).
    type: int
    default: 5432
    aliases: [port]
  ssl_mode:
    description:
      - libpq C(sslmode) of the connection (C(PGSSLMODE)).
    type: str
    default: prefer
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - CA certificate file that verifies the server (C(PGSSLROOTCERT)); use with O(ssl_mode=verify-ca) or
        O(ssl_mode=verify-full).
    type: str
    aliases: [ssl_rootcert]
  ssl_cert:
    description:
      - Client certificate file (C(PGSSLCERT)), for certificate authentication.
    type: path
  ssl_key:
    description:
      - Private key file of O(ssl_cert) (C(PGSSLKEY)).
    type: path
  connect_params:
    description:
      - More libpq connection keywords and their values, for example C(application_name) or C(keepalives_idle).
      - They are added to the connection string the client programs get on their command line, so the keywords
        that have their own option (C(host), C(hostaddr), C(port), C(user), C(dbname), C(sslmode),
        C(sslrootcert), C(sslcert), C(sslkey)), C(service), and C(password) and C(passfile) are refused.
    type: dict
    default: {}
  connect_timeout:
    description:
      - Seconds to wait for a connection (C(PGCONNECT_TIMEOUT)).
    type: int
    default: 10
notes:
  - The connection options follow the contract of the C(community.postgresql) 4.2 modules (names, aliases,
    deprecations, and C(login_db) for the database), so one C(module_defaults) for the C(group/tgops.runbooks.postgresql)
    and C(group/community.postgresql.all) action groups serves both collections.
"""

    # For the modules that create or drop databases.
    MAINTENANCE_DB = r"""
options:
  maintenance_db:
    description:
      - Database to connect to for C(CREATE DATABASE) and C(DROP DATABASE), as in
        C(community.postgresql.postgresql_db).
    type: str
    default: postgres
"""

    # login_db of the modules that work on one database; the module's description says what it does to it.
    LOGIN_DB = r"""
options:
  login_db:
    description:
      - The database the module works on, as C(login_db) names it in C(community.postgresql).
      - The aliases C(db) and C(login_db_name) are deprecated and will be removed in version 2.0.0.
    type: str
    required: true
    aliases: [db, login_db_name]
"""

    # login_db of the backup modules, formerly db with alias name (as community.postgresql.postgresql_db).
    LOGIN_DB_NAME = r"""
options:
  login_db:
    description:
      - The database the module works on, as C(login_db) names it in C(community.postgresql).
      - The aliases C(db) and C(name) are deprecated and will be removed in version 2.0.0.
    type: str
    required: true
    aliases: [db, name]
"""
