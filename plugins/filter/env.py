# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which missing environment variables the inventory's Vault can put back (the "missing environment
variables" edge case of the toogoodtogo runbook). Names only: values never pass through here."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types

_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


def env_restore_plan(env_report, secrets):
    """Split the env file's missing variables into those a vault variable can restore and the rest.

    ``env_report`` is what ``platform_info`` returns as ``env`` (``file``, ``exists``, ``missing``, ``empty``);
    ``secrets`` is ``platform_secrets`` (secret name -> ``{env: VARIABLE, vault: vault_variable}``).
    """
    if not isinstance(env_report, dict) or not isinstance(env_report.get('missing', []), list):
        raise AnsibleFilterError('env_restore_plan expects platform_info\'s env report (a dict with "missing")')
    if not isinstance(secrets, dict):
        raise AnsibleFilterError('env_restore_plan expects platform_secrets (a dict: name -> {env, vault})')
    by_env = {}
    for name, spec in secrets.items():
        if not isinstance(spec, dict) or not isinstance(spec.get('env'), string_types) \
                or not isinstance(spec.get('vault'), string_types):
            raise AnsibleFilterError('platform_secrets.%s must be a dict with string keys env and vault' % name)
        if not _NAME.match(spec['env']) or not _NAME.match(spec['vault']):
            raise AnsibleFilterError('platform_secrets.%s: env and vault must be variable names' % name)
        by_env.setdefault(spec['env'], dict(name=name, env=spec['env'], vault=spec['vault']))
    # A variable set to nothing (NAME=) is as missing as an absent one: the application refuses both.
    empty = [name for name in env_report.get('empty') or [] if isinstance(name, string_types)]
    missing = [name for name in env_report.get('missing') or [] if isinstance(name, string_types)]
    missing += [name for name in empty if name not in missing]
    restorable = [by_env[name] for name in missing if name in by_env]
    unknown = [name for name in missing if name not in by_env]
    where = env_report.get('file') or 'the env file'
    findings = [] if env_report.get('exists', True) else ['env file %s does not exist' % where]

    def what(name):
        return '%s is %s %s' % (name, 'empty in' if name in empty else 'missing from', where)

    findings += ['%s (the vault holds it: %s)' % (what(r['env']), r['vault']) for r in restorable]
    findings += ['%s and no vault variable holds it: set it by hand' % what(name) for name in unknown]
    return dict(
        findings=findings,
        file=env_report.get('file'),
        file_exists=bool(env_report.get('exists', True)),
        missing=missing,
        restorable=restorable,
        unknown=unknown,
        act=bool(restorable),
    )


class FilterModule(object):
    def filters(self):
        return {'env_restore_plan': env_restore_plan}
