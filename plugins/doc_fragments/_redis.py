# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Options of the modules that run redis-cli in a compose project's Redis container.
    # Matches redis_argument_spec() in plugins/module_utils/_redis_keys.py.
    DOCUMENTATION = r"""
options:
  project:
    description: The compose project (its containers are found by the C(com.docker.compose.project) label).
    type: str
    required: true
  service:
    description:
      - The Redis service of the project (its running container, by the C(com.docker.compose.service) label; a one-off
        C(docker compose run) container of it is never the one used).
    type: str
    default: redis
  docker_cli:
    description: The Docker CLI.
    type: path
    default: docker
"""
