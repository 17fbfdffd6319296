# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # PostgreSQL connection options, the community.postgresql contract.
    # Matches postgres_common_argument_spec() in plugins/module_utils/_postgres.py.
    DOCUMENTATION = r"""
options:
  login_user:
    description:
      - The role to connect as.
    type: str
    default: postgres
    aliases: [login]
  login_password:
    description:
      - The password of O(login_user).
      - It is passed to the PostgreSQL client programs in the C(PGPASSWORD) environment variable, never on
        their command line, and is not returned.
    type: str
    default: ''
  login_host:
    description:
      - Host name or IP address of the PostgreSQL server.
      - Empty connects through the default Unix socket (see O(login_unix_socket)).
    type: str
    default: ''
    aliases: [host]
  login_unix_socket:
    description:
      - Directory of the server's Unix socket; takes precedence over O(login_host).
    type: str
    default: ''
    aliases: [unix_socket]
  port:
    description:
      - Server port.
    type: int
    default: 5432
    aliases: [login_port]
  maintenance_db:
    description:
      - Database to connect to for administrative statements such as C(CREATE DATABASE) and C(DROP DATABASE).
    type: str
    default: postgres
    aliases: [login_db]
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
  connect_timeout:
    description:
      - Seconds to wait for a connection (C(PGCONNECT_TIMEOUT)).
    type: int
    default: 10
notes:
  - The connection options follow the contract of the C(community.postgresql) modules (names and aliases), so
    the same variables or C(module_defaults) serve both.
"""
