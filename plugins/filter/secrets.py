# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every secret value of a platform, for the redaction lists of the roles (log lines, reports, channel messages).

One source instead of a list per role: the inventory's secret registry (``platform_secrets``, each secret's vault
variable) and the platform's other secret variables (off-site backup keys, HMAC key) - a secret added to the
registry is masked everywhere without touching a role. The filter reads the registry from the host's variables
itself: masking uses what the run holds and requires nothing (a job without a credential has nothing of it to mask).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleError, AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence
from ansible.module_utils.six import binary_type, string_types
from ansible.module_utils.six.moves.collections_abc import Mapping
from ansible.module_utils.common.text.converters import to_text

# The platform's secrets that platform_secrets does not list (they are no env file variable of the application).
PLATFORM_SECRET_VARIABLES = (
    'platform_db_password',
    'platform_bot_token',
    'platform_webhook_secret',
    'platform_stripe_key',
    'platform_toncenter_api_key',
    'platform_pinata_api_key',
    'platform_pinata_secret_key',
    'platform_backup_s3_access_key',
    'platform_backup_s3_secret_key',
    'platform_backup_hmac_key',
)


def _value(variables, name):
    """The value of variable ``name``, None when it is not defined (or its template cannot be resolved)."""
    try:
        if name not in variables:
            return None
        value = variables[name]
    except (AnsibleError, KeyError):
        # an undefined variable inside its template (vault_x | default missing): nothing to mask
        return None
    # an Undefined object (jinja2 or Ansible's) is not a value
    if type(value).__name__.endswith('Undefined'):
        return None
    return value


def _texts(value):
    if isinstance(value, (string_types, binary_type)):
        return [to_text(value, errors='surrogate_or_strict')]
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [to_text(value)]
    if is_sequence(value):
        return [text for item in value for text in _texts(item)]
    return []


def platform_secret_values(variables, registry='platform_secrets', names=PLATFORM_SECRET_VARIABLES,
                           extra='platform_redact'):
    """The values of every secret the host's variables hold: non-empty strings, each once, in a stable order.

    ``variables`` are the host's variables (``hostvars[inventory_hostname]``). The values are those of the ``vault``
    variable of each entry of the secret registry (the variable ``registry``, ``platform_secrets``: secret name ->
    ``{env, vault[, lab]}``), of the variables in ``names`` and the items of the list variable ``extra``. Undefined
    and empty ones are left out: masking needs no secret the run was not given (an AWX job template carries only
    the credentials its playbook uses). Values never appear in an error.
    """
    if not isinstance(variables, Mapping):
        raise AnsibleFilterError('platform_secret_values needs the host\'s variables (hostvars[inventory_hostname]), '
                                 'got %s' % type(variables).__name__)
    if isinstance(names, string_types) or not is_sequence(names):
        raise AnsibleFilterError('platform_secret_values: names must be a list of variable names')
    secrets = _value(variables, registry) if registry else None
    if secrets is None:
        secrets = {}
    if not isinstance(secrets, Mapping):
        raise AnsibleFilterError('%s must be a dict: secret name -> {env, vault}, got %s'
                                 % (registry, type(secrets).__name__))
    wanted = []
    for name, spec in secrets.items():
        if not isinstance(spec, Mapping) or not isinstance(spec.get('vault'), string_types) or not spec['vault']:
            raise AnsibleFilterError('%s.%s must be a dict whose vault is the name of the variable that holds the '
                                     'secret' % (registry, name))
        wanted.append(spec['vault'])
    wanted.extend(names)
    values = []
    for name in wanted:
        values.extend(_texts(_value(variables, name)))
    if extra:
        values.extend(_texts(_value(variables, extra)))
    found = []
    for value in values:
        if value and value not in found:
            found.append(value)
    return found


class FilterModule(object):
    def filters(self):
        return {'platform_secret_values': platform_secret_values}
