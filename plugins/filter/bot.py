# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``bot_diagnosis``: the verdict of runbook P1 "Bot Not Responding to Commands" from what the bot role read."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.tgops.runbooks.plugins.filter.platform_logs import shorten
from ansible_collections.tgops.runbooks.plugins.module_utils._telegram_bot_info import webhook_verdict


def _dict(value, name):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AnsibleFilterError('bot_diagnosis: %s must be a dict, got %s' % (name, type(value).__name__))
    return value


def bot_diagnosis(read):
    """``read``: info (telegram_bot_info, registered with failed_when: false), service, down, unhealthy (the stack
    role's lists), mode (webhook or polling), webhook_url, log_errors (platform_logs), log_lines."""
    read = _dict(read, 'the input')
    info = _dict(read.get('info'), 'info')
    service = to_text(read.get('service'))
    has_bot = 'bot' in info
    # 401 is Telegram refusing the token itself; 404 is a path the API does not know (a wrong api_url).
    rejected = info['token_rejected'] if 'token_rejected' in info else info.get('error_code', 0) == 401
    token_rejected = not has_bot and bool(rejected)
    api_unreachable = not has_bot and not rejected
    service_down = service in (read.get('down') or []) or service in (read.get('unhealthy') or [])
    webhook_now = to_text(_dict(info.get('webhook'), 'info.webhook').get('url') or '')
    mode = read.get('mode')
    # Whether the webhook is what the mode and URL say is telegram_bot_info's judgement (webhook_wrong/_leftover).
    webhook = webhook_verdict(info if has_bot else {}, {'webhook': True, 'polling': False}.get(mode),
                              to_text(read.get('webhook_url') or '') if mode == 'webhook' else '')
    webhook_wrong, webhook_leftover = webhook['webhook_wrong'], webhook['webhook_leftover']
    logs = _dict(read.get('log_errors'), 'log_errors')

    findings = []
    if service_down:
        findings.append('service %s is not running or unhealthy' % service)
    if token_rejected:
        reason = info['description'] if 'description' in info else info.get('msg', '')
        findings.append('Telegram rejected the bot token (%s %s): restarting cannot fix this; put a valid BOT_TOKEN '
                        'in the env file and the vault' % (to_text(info.get('error_code', '?')), to_text(reason)))
    if api_unreachable:
        findings.append('Telegram Bot API not reachable: %s' % to_text(info.get('msg', 'unknown error')))
    findings.extend(webhook['findings'])
    # The webhook's sentences are the verdict's above (against the platform's mode and URL): left out here by key.
    webhook_kind = _dict(info.get('findings_by_kind'), 'info.findings_by_kind').get('webhook') or []
    findings.extend(f for f in info.get('findings') or [] if f not in webhook_kind)
    if logs.get('count'):
        findings.append('%s error line(s) in the last %s lines of the %s log'
                        % (logs['count'], to_text(read.get('log_lines')), service))
    if logs.get('failure'):
        findings.append('cannot read the %s logs: %s' % (service, shorten(logs['failure'])))
    # telegram_bot_info read the token the app runs with: when it is not the vault's, a webhook fix made with the
    # vault's token would configure another bot than the one running.
    credentials_differ = _dict(info.get('credentials_match'), 'info.credentials_match').get('bot_token') is False
    return dict(token_rejected=token_rejected, api_unreachable=api_unreachable, service_down=service_down,
                webhook_now=webhook_now, webhook_wrong=webhook_wrong, webhook_leftover=webhook_leftover,
                credentials_differ=credentials_differ, findings=findings)


def _changed(result):
    return bool(isinstance(result, dict) and result.get('changed'))


def bot_fix_plan(read):
    """What the bot role's fix did to the webhook, and whether the bot is restarted. ``read``: token_rejected,
    service_down, webhook_wrong, webhook_leftover, credentials_differ (bot_diagnosis), webhook_set and
    webhook_deleted (the registered telegram_webhook results, maybe skipped), allow_restart, force_restart, service,
    webhook_url, check_mode."""
    read = _dict(read, 'the input')
    try:
        allow, force = boolean(read.get('allow_restart', True)), boolean(read.get('force_restart', False))
        check_mode = boolean(read.get('check_mode', False))
    except TypeError as exc:
        raise AnsibleFilterError('bot_fix_plan: %s' % exc)
    token_rejected = bool(read.get('token_rejected'))
    service = to_text(read.get('service'))
    webhook_set, webhook_deleted = _changed(read.get('webhook_set')), _changed(read.get('webhook_deleted'))
    actions = []
    if token_rejected:
        actions.append('Not restarting %s: Telegram rejects the token, a restart cannot fix that' % service)
    if webhook_set:
        actions.append('%s the webhook to %s (setWebhook)'
                       % ('Would set' if check_mode else 'Set', to_text(read.get('webhook_url'))))
    if webhook_deleted:
        actions.append('%s the leftover webhook (deleteWebhook)' % ('Would delete' if check_mode else 'Deleted'))
    if read.get('credentials_differ') and (read.get('webhook_wrong') or read.get('webhook_leftover')):
        actions.append('Not changing the webhook: the bot runs with another token than the vault\'s, and a fix made '
                       'with the vault\'s would change another bot; put one token in both, then run again')
    # A rejected token is never "fixed" by a restart; a webhook fix needs the bot to pick it up.
    wanted = bool(read.get('service_down')) or webhook_set or webhook_deleted or force
    restart = not token_rejected and allow and wanted
    return dict(actions=actions, restart_needed=restart)


def bot_outcome(read):
    """The incident skeleton's outcome (filter incident_outcome) of the bot role. ``read``: diagnosis
    (bot_diagnosis), info and info_after (telegram_bot_info before and after the fix; info_after skipped or absent
    before the fix and in check mode), log_errors (platform_logs), service, actions (the fix's, absent before it)."""
    read = _dict(read, 'the input')
    diagnosis = _dict(read.get('diagnosis'), 'diagnosis')
    info = _dict(read.get('info'), 'info')
    after = _dict(read.get('info_after'), 'info_after')
    latest = after if after and not after.get('skipped') else info
    webhook = _dict(info.get('webhook'), 'info.webhook')
    webhook_latest = to_text(_dict(latest.get('webhook'), 'info_after.webhook').get('url') or '') or 'none'
    telegram_ok = bool(latest.get('passed'))
    findings = list(diagnosis.get('findings') or [])
    outcome = dict(
        findings=findings,
        errors=list(_dict(read.get('log_errors'), 'log_errors').get('lines') or []),
        impacted=[to_text(read.get('service'))] if findings else [],
        health_before='getMe %s, webhook %s, %s pending update(s)' % (
            'rejected' if diagnosis.get('token_rejected') else 'ok', diagnosis.get('webhook_now') or 'none',
            to_text(webhook.get('pending_update_count', '?'))),
        resolved=telegram_ok and not diagnosis.get('token_rejected'),
        summary='Telegram %s (webhook %s)' % (
            'answers and the webhook is as configured' if telegram_ok else 'still not healthy', webhook_latest))
    if read.get('actions') is not None:
        outcome['actions'] = list(read['actions'])
    return outcome


class FilterModule(object):
    def filters(self):
        return {'bot_diagnosis': bot_diagnosis, 'bot_fix_plan': bot_fix_plan, 'bot_outcome': bot_outcome}
