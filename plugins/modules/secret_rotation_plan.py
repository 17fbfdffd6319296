#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: secret_rotation_plan
short_description: Decide and validate a secret rotation before anything is touched
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Checks a rotation request against what the platform has (O(secrets), the inventory's C(platform_secrets)),
    refuses a disruptive rotation without O(confirm), refuses new values that cannot be right (a Telegram token
    of another bot, a Stripe test key for a live one, a SECRET_KEY that is not 32 bytes of hex, a value equal to
    the current one), and returns the steps in the order the role runs them.
  - Draws the new value of secrets the collection can make itself - V(db_password) (32 letters and digits) and
    V(secret_key) (32 random bytes as hex) - unless the operator gave one. Those values are returned in
    RV(generated), so the task must use C(no_log=true).
  - Credentials only their issuer can make (Stripe, Telegram, Pinata, toncenter) must be given in O(new_values).
  - Makes no change anywhere; it runs on the controller.
extends_documentation_fragment:
  - tgops.runbooks._attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode O(confirm) is not required, so C(--check) shows the plan of an unconfirmed rotation.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Generated values are new on every run.
options:
  requested:
    description:
      - Names of the secrets to rotate - V(db_password), V(secret_key), V(stripe_key), V(telegram_bot_token),
        V(pinata_api_key) with V(pinata_secret_key), V(toncenter_api_key).
    type: list
    elements: raw
    required: true
  secrets:
    description:
      - The secrets this platform has, name to C({env, vault}) - the env file variable and the vault variable
        that hold it.
    type: dict
    required: true
  confirm:
    description:
      - The operator's confirmation that the disruption (application restart) is wanted.
    type: bool
    default: false
  new_values:
    description:
      - New values given by the operator or read from Vault, by secret name.
    type: dict
    default: {}
  current_values:
    description:
      - The values in use now, by secret name; used to refuse a "new" value equal to the current one and a
        Telegram token of another bot.
    type: dict
    default: {}
notes:
  - Not named C(secret_rotation_plan_info) although it changes nothing - it reads no existing state to report;
    it decides a plan from its options and draws new values, which differ on every run. C(_info) modules report
    what exists. The collection's vocabulary is in C(docs/module-vocabulary.md).
"""

EXAMPLES = r"""
- name: Plan the rotation (generated values stay out of the log)
  tgops.runbooks.secret_rotation_plan:
    requested: [db_password, secret_key]
    secrets: "{{ platform_secrets }}"
    confirm: "{{ rotate_secrets_confirm | default(false) }}"
  register: rotation_plan
  no_log: true
"""

RETURN = r"""
steps:
  description: The rotation steps in execution order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The secret.
      type: str
      sample: db_password
    env:
      description: Its variable in the env file.
      type: str
      sample: POSTGRES_PASSWORD
    vault:
      description: Its variable in the inventory's vault file.
      type: str
      sample: vault_toogoodtogo_postgres_password
    kind:
      description: V(generated) (the collection can draw it) or V(provided) (only its issuer can make it).
      type: str
      sample: generated
    source:
      description: Where this run's new value comes from - V(generated) or V(provided).
      type: str
      sample: generated
names:
  description: The secret names in execution order.
  returned: success
  type: list
  elements: str
  sample: [secret_key, db_password]
vault_keys:
  description: Secret name to its vault variable, for the steps (the O(tgops.runbooks.secret_store#module:rename) option).
  returned: success
  type: dict
  sample: {db_password: vault_toogoodtogo_postgres_password}
env_keys:
  description: Secret name to its env file variable, for the steps.
  returned: success
  type: dict
  sample: {db_password: POSTGRES_PASSWORD}
lab_keys:
  description: Secret name to its key in the lab's C(secrets.json), for the steps whose C(platform_secrets) entry
    has a C(lab) key.
  returned: success
  type: dict
  sample: {db_password: postgres_password}
generated:
  description: The values drawn by the module, by secret name (secret - register with C(no_log)).
  returned: success
  type: dict
  sample: {}
"""

from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._rotation import RotationError, plan


def main():
    module = new_module(
        argument_spec=dict(
            requested=dict(type='list', elements='raw', required=True),
            secrets=dict(type='dict', required=True, no_log=False),
            confirm=dict(type='bool', default=False),
            new_values=dict(type='dict', default={}, no_log=True),
            current_values=dict(type='dict', default={}, no_log=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    new_values = dict((k, v) for k, v in p['new_values'].items() if v not in (None, ''))
    for label, values in (('new_values', new_values), ('current_values', p['current_values'])):
        wrong = sorted(str(k) for k, v in values.items() if v is not None and not isinstance(v, str))
        if wrong:
            module.fail_json(msg='%s of %s must be strings' % (label, ', '.join(wrong)))
    current = dict((k, v) for k, v in p['current_values'].items() if v)
    try:
        steps, values = plan(p['requested'], p['secrets'], p['confirm'], new_values, current,
                             check_mode=module.check_mode)
    except RotationError as exc:
        module.fail_json(msg=str(exc))
    generated = dict((s['name'], values[s['name']]) for s in steps if s['source'] == 'generated')
    module.exit_json(changed=False, steps=steps, names=[s['name'] for s in steps], generated=generated,
                     vault_keys=dict((s['name'], s['vault']) for s in steps),
                     env_keys=dict((s['name'], s['env']) for s in steps),
                     lab_keys=dict((s['name'], str(p['secrets'][s['name']]['lab'])) for s in steps
                                   if p['secrets'][s['name']].get('lab')))


if __name__ == '__main__':
    main()
