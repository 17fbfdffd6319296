# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The platform_* inventory contract, as data and one check (private).

This is a private module_utils (leading underscore): its interface may change without notice.

docs/platform-variables.md is the contract's reference for people; :data:`TYPES`, :data:`REQUIRED`, :data:`CHOICES`
and :data:`REQUIRED_WITH` are the same contract for the code (its unit test keeps the two in step). :func:`check`
judges one host's variables against it, so that a play fails at its start, naming every problem at once, instead of
half-way through a fix on an undefined or mistyped variable. It never returns a value: a variable may be a secret.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.common.validation import check_type_bool

# Every platform_* variable: its type as docs/platform-variables.md writes it.
STR, PATH, SECRET, INT, FLOAT, BOOL, DICT, STRS, PATHS, DECIMAL = (
    'str', 'path', 'str (secret)', 'int', 'float', 'bool', 'dict', 'list of str', 'list of path', 'str (decimal TON)')

TYPES = {
    'platform_name': STR, 'platform_repo_dir': PATH, 'platform_project_dir': PATH, 'platform_compose_file': STR,
    'platform_compose_project': STR, 'platform_env_file': PATH, 'platform_required_env': STRS,
    'platform_service_manager': STR, 'platform_systemd_unit': STR,
    'platform_services': STRS, 'platform_app_services': STRS, 'platform_migration_service': STR,
    'platform_bot_service': STR, 'platform_redis_service': STR, 'platform_redis_db': INT,
    'platform_redis_max_percent': FLOAT, 'platform_proxy_service': STR, 'platform_db_service': STR,
    'platform_db_name': STR, 'platform_db_user': STR, 'platform_db_password': SECRET, 'platform_db_host': STR,
    'platform_db_port': INT, 'platform_stats_queries': DICT,
    'platform_backup_dir': PATH, 'platform_backup_format': STR, 'platform_backup_prefix': STR,
    'platform_backup_pattern': STR, 'platform_backup_tables': STRS, 'platform_backup_retention_count': INT,
    'platform_backup_retention_days': INT, 'platform_backup_on_calendar': STR, 'platform_backup_offsite_enabled': BOOL,
    'platform_backup_s3_bucket': STR, 'platform_backup_s3_prefix': STR, 'platform_backup_s3_endpoint_url': STR,
    'platform_backup_s3_region': STR, 'platform_backup_s3_access_key': SECRET, 'platform_backup_s3_secret_key': SECRET,
    'platform_backup_hmac_key': SECRET,
    'platform_health_url': STR, 'platform_public_health_url': STR, 'platform_public_ca_path': PATH,
    'platform_public_server_name': STR,
    'platform_releases_file': PATH, 'platform_releases_keep': INT, 'platform_deploy_lock_file': PATH,
    'platform_deploy_log': PATH, 'platform_handover_services': STRS, 'platform_handover_drain': INT,
    'platform_proxy_resolves_upstream': BOOL,
    'platform_bot_mode': STR, 'platform_bot_token': SECRET, 'platform_telegram_api_url': STR,
    'platform_webhook_url': STR, 'platform_webhook_secret': SECRET,
    'platform_nft_minting': BOOL, 'platform_mint_service': STR, 'platform_mint_retry_command': STRS,
    'platform_mint_retry_dry_run': BOOL, 'platform_mint_fail_stuck_policy': BOOL,
    'platform_ton_wallet_address': SECRET, 'platform_ton_min_balance': DECIMAL, 'platform_toncenter_api_url': STR,
    'platform_toncenter_api_key': SECRET, 'platform_pinata_api_url': STR, 'platform_pinata_api_key': SECRET,
    'platform_pinata_secret_key': SECRET, 'platform_stripe_api_url': STR,
    'platform_network_urls': STRS, 'platform_network_ca_path': PATH,
    'platform_checks_disk_paths': PATHS, 'platform_checks_log_since': STR, 'platform_checks_thresholds': DICT,
    'platform_disk_paths': PATHS, 'platform_disk_max_percent': FLOAT,
    'platform_certbot_enabled': BOOL, 'platform_ssl_renew_command': STRS, 'platform_ssl_lab_ca_dir': PATH,
    'platform_ssl_common_name': STR, 'platform_ssl_subject_alt_names': STRS, 'platform_proxy_cert_path': PATH,
    'platform_proxy_key_path': PATH,
    'platform_secrets': DICT, 'platform_secrets_vault_file': PATH, 'platform_secrets_lab_file': PATH,
    'platform_redact': STRS, 'platform_stripe_key': SECRET, 'platform_admin_sources': STRS,
    'platform_firewall_managed': BOOL,
}

# What every platform's inventory sets (the reference's "Required for every platform").
REQUIRED = (
    'platform_name', 'platform_repo_dir', 'platform_project_dir', 'platform_compose_file', 'platform_compose_project',
    'platform_env_file', 'platform_services', 'platform_app_services', 'platform_migration_service',
    'platform_bot_service', 'platform_redis_service', 'platform_db_service', 'platform_db_name', 'platform_db_user',
    'platform_db_password', 'platform_db_host', 'platform_db_port', 'platform_backup_dir', 'platform_backup_format',
    'platform_backup_prefix', 'platform_backup_pattern', 'platform_health_url', 'platform_releases_file',
    'platform_deploy_lock_file', 'platform_deploy_log', 'platform_bot_mode', 'platform_bot_token',
)

# The values the roles accept (their argument specs' choices).
CHOICES = {
    'platform_service_manager': ('compose', 'systemd'),
    'platform_bot_mode': ('polling', 'webhook'),
    'platform_backup_format': ('custom', 'plain_gz'),
}

# Required only with a feature: (variable, the value that turns the feature on, what it needs, why).
REQUIRED_WITH = (
    ('platform_service_manager', 'systemd', ('platform_systemd_unit',), 'platform_service_manager is systemd'),
    ('platform_bot_mode', 'webhook', ('platform_webhook_url',), 'platform_bot_mode is webhook'),
    ('platform_backup_offsite_enabled', True, ('platform_backup_hmac_key', 'platform_backup_s3_bucket'),
     'platform_backup_offsite_enabled is true'),
    ('platform_nft_minting', True, ('platform_ton_wallet_address',), 'platform_nft_minting is true'),
)

UNDEFINED = object()  # a variable the host does not have
BROKEN = object()  # a variable whose value refers to an undefined variable

_DECIMAL = re.compile(r'^\d+(\.\d+)?$')


def _is_str(value):
    return isinstance(value, str)


def _type_ok(kind, value):
    if kind in (STR, PATH, SECRET):
        return _is_str(value)
    if kind == INT:
        # A templated number arrives as text ("{{ port }}"); the roles cast it.
        return (isinstance(value, int) and not isinstance(value, bool)) or (_is_str(value) and value.isdigit())
    if kind == FLOAT:
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return True
        return _is_str(value) and bool(_DECIMAL.match(value))
    if kind == DECIMAL:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)) or \
            (_is_str(value) and bool(_DECIMAL.match(value)))
    if kind == BOOL:
        # What the roles' `| bool` takes: `-e platform_x=false` arrives as text.
        try:
            check_type_bool(value)
        except TypeError:
            return False
        return not isinstance(value, float)
    if kind == DICT:
        return isinstance(value, dict)
    if kind in (STRS, PATHS):
        return isinstance(value, (list, tuple)) and all(_is_str(item) for item in value)
    raise ValueError('unknown type %r' % kind)


def _kind(value):
    """The YAML type of a value, by what it is (ansible-core hands over subclasses of str, list and dict)."""
    for kind, name in ((bool, 'bool'), (int, 'int'), (float, 'float'), (str, 'str'), (dict, 'dict'),
                       ((list, tuple), 'list')):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _switched_on(value, on):
    if on is True:
        try:
            return value is not UNDEFINED and value is not BROKEN and check_type_bool(value)
        except TypeError:
            return False
    return value == on


def _empty(value):
    return value is None or value == '' or value == [] or value == {}


def _set(value):
    return value is not UNDEFINED and value is not BROKEN and not _empty(value)


def argument_spec():
    """The options of the module and its action plugin."""
    return dict(fail_on_problem=dict(type='bool', default=True))


def check(variables):
    """Judge one host's platform_* variables: ``variables`` maps each platform_* name the host has to its templated
    value, or to :data:`BROKEN` when templating it failed on an undefined variable. Returns the findings (a list of
    sentences naming variables, never a value), empty when the host meets the contract; unknown names are
    :func:`unknown`'s."""
    findings = []
    for name in sorted(variables):
        value = variables[name]
        if name not in TYPES:
            continue  # unknown(): a warning, not a failure
        if value is BROKEN:
            findings.append('%s refers to an undefined variable (a missing vault secret?)' % name)
        elif not _empty(value) and not _type_ok(TYPES[name], value):  # empty is unset: its own check below
            findings.append('%s must be of type %s, not %s' % (name, TYPES[name], _kind(value)))
    for name in REQUIRED:
        if name not in variables:
            findings.append('%s is required and not set' % name)
        elif variables[name] is not BROKEN and _empty(variables[name]):
            findings.append('%s is required and empty' % name)
    for name, allowed in sorted(CHOICES.items()):
        value = variables.get(name, UNDEFINED)
        if _set(value) and _is_str(value) and value not in allowed:
            findings.append('%s must be one of %s, not %r' % (name, ', '.join(allowed), value))
    for switch, on, needed, why in REQUIRED_WITH:
        if not _switched_on(variables.get(switch, UNDEFINED), on):
            continue
        for name in needed:
            value = variables.get(name, UNDEFINED)
            if value is not BROKEN and not _set(value):
                findings.append('%s is required when %s' % (name, why))
    return findings


def unknown(variables):
    """The platform_* names the contract does not know, each as a warning: most likely a typo, which leaves the
    variable meant at a role's default. A warning, because an extra variable alone breaks nothing, and an incident
    playbook must not stop on it."""
    return ['%s is not a platform variable (docs/platform-variables.md lists them): a typo leaves the one meant at '
            'its default' % name for name in sorted(variables) if name not in TYPES]
