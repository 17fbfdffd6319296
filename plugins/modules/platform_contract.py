#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: platform_contract
short_description: Check a host's platform_* inventory variables against the collection's contract
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Judges the C(platform_*) variables of the host against the contract documented in the collection's
    C(docs/platform-variables.md) - every variable required for every platform is set and not empty, each variable
    has its documented type, C(platform_service_manager), C(platform_bot_mode) and C(platform_backup_format) have a
    value the roles accept, what a feature needs is set when the feature is on (C(platform_systemd_unit) with
    systemd, C(platform_webhook_url) for a webhook bot, the HMAC key and bucket for off-site copies, the TON wallet
    for NFT minting).
  - A C(platform_*) variable the contract does not know is a warning, not a failure - most likely a typo, which
    leaves the variable meant at a role's default; an extra variable alone breaks nothing, and an incident
    playbook must not stop on it.
  - The collection's playbooks run it as their first task, so a run against an inventory that breaks the contract
    fails before anything is read or changed, naming every problem at once, instead of half-way through a fix.
  - Every variable is templated, so a value that refers to an undefined variable (a vault secret missing from
    the vault) is a finding. No value is ever returned or shown - variables can be secrets; findings name
    variables only.
  - Runs on the controller - the collection's action plugin of the same name reads the host's variables in the
    task's worker process; nothing is sent to the host.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
  - tgops.runbooks._attributes.controller_only
options:
  fail_on_problem:
    description:
      - Fail the task when the host breaks the contract. With V(false) the findings are returned and the task
        succeeds.
    type: bool
    default: true
notes:
  - Not named C(platform_contract_info) although it changes nothing - it is a check action, like
    M(ansible.builtin.validate_argument_spec), whose purpose is to stop the play when the inventory breaks the
    contract (hence O(fail_on_problem=true) by default); C(_info) modules report and never fail on their verdict by
    default. The collection's vocabulary is in C(docs/module-vocabulary.md).
seealso:
  - name: The platform variables reference
    description: docs/platform-variables.md in the collection - every platform_* variable, its type and default.
    link: https://github.com/tgops/runbooks/blob/main/docs/platform-variables.md
"""

EXAMPLES = r"""
- name: Check the platform variables
  tgops.runbooks.platform_contract:

- name: Report the problems without failing
  tgops.runbooks.platform_contract:
    fail_on_problem: false
  register: contract
"""

RETURN = r"""
passed:
  description: Whether the host's platform variables meet the contract.
  returned: always
  type: bool
  sample: false
findings:
  description: What breaks the contract, one sentence per problem, naming the variable (never its value).
  returned: always
  type: list
  elements: str
  sample:
    - platform_db_port must be of type int, not list
    - platform_webhook_url is required when platform_bot_mode is webhook
checked:
  description: How many platform_* variables the host has (all of them were checked).
  returned: always
  type: int
  sample: 58
"""

from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._platform_contract import argument_spec


def main():
    module = new_module(argument_spec=argument_spec(), supports_check_mode=True)
    # Only the action plugin can see the host's inventory variables.
    module.fail_json(msg='tgops.runbooks.platform_contract runs as its action plugin on the controller; '
                         'it cannot run as a module on a host')


if __name__ == '__main__':
    main()
