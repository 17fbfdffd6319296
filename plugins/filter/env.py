# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which missing environment variables the inventory's Vault can put back (the "missing environment
variables" edge case of the toogoodtogo runbook; ``env_restore_plan``), and what the incident report says of the
diagnosis, the restore and the application's health after it (``env_repair_outcome``). Names only: values never
pass through here."""

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


def _names(value, name):
    if value is None:
        return []
    if not isinstance(value, list):
        raise AnsibleFilterError('env_repair_outcome: %s must be a list, got %s' % (name, type(value).__name__))
    return value


def env_repair_outcome(read):
    """The incident skeleton's outcome (filter incident_outcome) of the env_repair role.

    ``read`` keys: ``plan`` (env_restore_plan's result), ``triage`` (the triage role's triage_result: its findings
    and errors join the report), ``confirm_variable`` (what the operator sets to confirm the restore), after the fix
    ``actions`` and after the verification ``healthy`` (the service_health role's verdict). The cause is gone when no
    variable is left that no vault holds and the restorable ones were put back (or none was missing); a restore
    behind an unhealthy application still fails the run."""
    if not isinstance(read, dict):
        raise AnsibleFilterError('env_repair_outcome expects a dict (plan, triage, confirm_variable, actions, healthy)')
    plan = read.get('plan')
    if not isinstance(plan, dict) or 'restorable' not in plan or 'unknown' not in plan:
        raise AnsibleFilterError('env_repair_outcome: plan must be the result of env_restore_plan')
    triage = read.get('triage') or {}
    if not isinstance(triage, dict):
        raise AnsibleFilterError('env_repair_outcome: triage must be the triage role\'s triage_result (a dict)')
    restorable = [r.get('env') for r in _names(plan['restorable'], 'plan.restorable') if isinstance(r, dict)]
    unknown = _names(plan['unknown'], 'plan.unknown')
    missing = _names(plan.get('missing'), 'plan.missing')
    actions = _names(read.get('actions'), 'actions')
    resolved = not unknown and (not restorable or bool(actions))
    where = plan.get('file') or 'the env file'
    findings = _names(plan.get('findings'), 'plan.findings') + _names(triage.get('findings'), 'triage.findings')
    outcome = dict(
        findings=list(findings),
        errors=list(_names(triage.get('errors'), 'triage.errors')),
        no_findings='no required variable is missing',
        resolved=resolved)
    if 'actions' in read:
        outcome['actions'] = list(actions)
    # The application's verdict is known only after the skeleton's health check (entry point verify).
    unhealthy = 'healthy' in read and not read['healthy']
    why = []
    if restorable and not actions:
        confirm = read.get('confirm_variable') or 'env_repair_confirm'
        why.append('The vault holds %s: run again with -e %s=true.' % (', '.join(restorable), confirm))
    if unknown:
        why.append('No vault variable holds %s: set it by hand, then recreate the application.' % ', '.join(unknown))
    if actions and missing and unhealthy:
        why.append('The application is not healthy after the restore.')
    if why:
        outcome['failure'] = ' '.join(['Still missing from %s: %s.' % (where, ', '.join(missing))] + why)
    if not missing:
        outcome['summary'] = 'No required variable is missing from %s' % where
    elif resolved:
        outcome['summary'] = 'Put %s back into %s' % (', '.join(restorable), where)
    else:
        outcome['summary'] = 'Still missing from %s: %s' % (where, ', '.join(missing))
    return outcome


class FilterModule(object):
    def filters(self):
        return {'env_restore_plan': env_restore_plan, 'env_repair_outcome': env_repair_outcome}
