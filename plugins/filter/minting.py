# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The decisions of runbook P1 "NFT Minting Failures": what the minting role's reads say is wrong
(minting_diagnosis), whether to retry the mints (minting_plan), the sentences for what the fix did
(minting_actions) and what the incident skeleton reports (minting_outcome). The role reads with modules and runs
the steps; these decide on the registered results."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types


def _dict(data, key, who, required=True):
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise AnsibleFilterError('%s: %s must be a registered result (a dict), got %s'
                                 % (who, key, type(value).__name__))
    return value


def _count(value, name, who):
    try:
        count = int(value or 0)
    except (TypeError, ValueError):
        raise AnsibleFilterError('%s: %s must be a whole number, got %r' % (who, name, value))
    if count < 0:
        raise AnsibleFilterError('%s: %s must be 0 or more, got %d' % (who, name, count))
    return count


def _text(value):
    """A value as Jinja's ~ would write it."""
    return to_text(value)


def _logs(result, service):
    """``(count, lines, failure)`` from platform_info registered with ``failed_when: false`` for one service."""
    logs = result.get('logs')
    if not isinstance(logs, dict):
        # the module failed as a whole (no Docker, an unknown project): its message says why
        return 0, [], _text(result.get('msg') or 'unknown error')
    prefix = '%s | ' % service
    # platform_info names the service of each line; with one service read, the line is the log's own.
    lines = [line[len(prefix):] if line.startswith(prefix) else line
             for line in (_text(x) for x in logs.get('errors') or [])]
    failure = '; '.join(_text(x) for x in logs.get('failures') or [])
    return _count(logs.get('error_count'), 'logs.error_count', 'minting_diagnosis'), lines, failure


def minting_diagnosis(data):
    """What is wrong with minting, from the diagnosis' registered results (each read with ``failed_when: false``).

    ``data`` keys: ``logs`` (platform_info for the minting service), ``wallet`` (ton_wallet_info), ``pinata``
    (pinata_auth_info), ``mints`` (mint_transactions_info), ``service``, ``log_since`` and ``min_balance_ton``.
    """
    who = 'minting_diagnosis'
    if not isinstance(data, dict):
        raise AnsibleFilterError('minting_diagnosis expects a dict (logs, wallet, pinata, mints, service, ...)')
    service = data.get('service')
    if not isinstance(service, string_types) or not service:
        raise AnsibleFilterError('minting_diagnosis: service must name the compose service that mints')
    logs = _dict(data, 'logs', who)
    wallet = _dict(data, 'wallet', who)
    pinata = _dict(data, 'pinata', who)
    mints = _dict(data, 'mints', who)
    mint_findings = mints.get('findings') or []
    if not isinstance(mint_findings, list):
        raise AnsibleFilterError('minting_diagnosis: mints.findings must be a list of sentences')

    count, lines, failure = _logs(logs, service)
    wallet_read = 'balance_nanoton' in wallet
    low_balance = not wallet.get('passed', True)
    pinata_read = 'passed' in pinata
    mints_read = 'by_status' in mints

    findings = []
    if count:
        findings.append('%d NFT/TON/IPFS error line(s) in the %s log (last %s)'
                        % (count, service, _text(data.get('log_since', ''))))
    if failure:
        findings.append('cannot read the %s logs: %s' % (service, failure))
    if low_balance:
        findings.append('TON wallet balance %s TON is below the minimum %s TON'
                        % (_text(wallet.get('balance_ton')), _text(data.get('min_balance_ton'))))
    if not wallet_read:
        findings.append('cannot read the TON wallet balance: %s' % _text(wallet.get('msg', 'unknown error')))
    if pinata_read and not pinata['passed']:
        findings.append('Pinata rejects the API key (%s %s)'
                        % (_text(pinata.get('status', '?')), _text(pinata.get('error_code') or '')))
    if not pinata_read:
        findings.append('cannot reach Pinata: %s' % _text(pinata.get('msg', 'unknown error')))
    findings.extend(_text(f) for f in mint_findings)
    if not mints_read:
        findings.append('cannot read the mint queue: %s' % _text(mints.get('msg', 'unknown error')))
    return {
        'findings': findings,
        'log_errors': {'count': count, 'lines': lines},
        'wallet_read': wallet_read,
        'pinata_read': pinata_read,
        'mints_read': mints_read,
        'wallet_ok': wallet_read and bool(wallet.get('passed', True)),
        'low_balance': low_balance,
        'balance_ton': wallet.get('balance_ton'),
        'min_balance_ton': data.get('min_balance_ton'),
        'pinata_ok': bool(pinata.get('passed', False)),
        'stuck_count': _count(mints.get('stuck_count'), 'mints.stuck_count', who),
        # Failed within the last hour: older ones were retried before and would fail the same way again.
        'recent_failed_count': _count(mints.get('recent_failed_count'), 'mints.recent_failed_count', who),
    }


def _diagnosis(data, who):
    diagnosis = data.get('diagnosis')
    if not isinstance(diagnosis, dict) or not all(k in diagnosis for k in (
            'mints_read', 'wallet_ok', 'pinata_ok', 'low_balance', 'stuck_count', 'recent_failed_count')):
        raise AnsibleFilterError('%s: diagnosis must be the result of minting_diagnosis' % who)
    return diagnosis


def minting_plan(data):
    """Whether to retry the mints, and the low-balance alert.

    ``data`` keys: ``diagnosis`` (minting_diagnosis), ``retry``, ``retry_confirm``, ``retry_dry_run`` and
    ``check_mode``.
    """
    if not isinstance(data, dict):
        raise AnsibleFilterError('minting_plan expects a dict (diagnosis, retry, retry_confirm, check_mode, ...)')
    diagnosis = _diagnosis(data, 'minting_plan')
    waiting = diagnosis['stuck_count'] + diagnosis['recent_failed_count']
    wanted = bool(data.get('retry')) and waiting > 0 and diagnosis['mints_read']
    ready = wanted and diagnosis['wallet_ok'] and diagnosis['pinata_ok']
    # A real retry spends TON: confirmed only. Check mode runs the command only as its own dry run, and only
    # where the inventory says it has one.
    allowed = data.get('retry_dry_run') if data.get('check_mode') else data.get('retry_confirm')
    alerts = []
    if diagnosis['low_balance']:
        alerts.append('ALERT: top up the minting TON wallet (balance %s TON, minimum %s TON), then run this playbook '
                      'again to retry the failed mints' % (_text(diagnosis.get('balance_ton')),
                                                           _text(diagnosis.get('min_balance_ton'))))
    return {'retry_wanted': wanted, 'retry_ready': ready, 'retry_run': bool(ready and allowed),
            'waiting': waiting, 'alerts': alerts}


def _retry_summary(retried):
    """The retry command's JSON summary, its last line (failed_when has already checked it starts with '{')."""
    lines = retried.get('stdout_lines') or []
    try:
        summary = json.loads(lines[-1])
    except (IndexError, TypeError, ValueError):
        raise AnsibleFilterError('minting_actions: the retry command\'s last line is not its JSON summary')
    if not isinstance(summary, dict):
        raise AnsibleFilterError('minting_actions: the retry command\'s summary must be a JSON object')
    return summary


def minting_actions(data):
    """The sentences for what the fix did, would do, or did not do and why.

    ``data`` keys: ``diagnosis`` (minting_diagnosis), ``plan`` (minting_plan), ``retried`` (the retry command's
    registered result), ``swept`` (mint_transactions' registered result), ``check_mode``, ``retry_command``,
    ``retry_confirm``, ``retry_dry_run`` and ``stuck_after``. A skipped or absent result is a step that did not run.
    """
    who = 'minting_actions'
    if not isinstance(data, dict):
        raise AnsibleFilterError('minting_actions expects a dict (diagnosis, plan, retried, swept, ...)')
    diagnosis = _diagnosis(data, who)
    plan = data.get('plan')
    if not isinstance(plan, dict) or not all(k in plan for k in ('retry_wanted', 'retry_ready', 'alerts')):
        raise AnsibleFilterError('minting_actions: plan must be the result of minting_plan')
    command = data.get('retry_command') or []
    if not isinstance(command, list):
        raise AnsibleFilterError('minting_actions: retry_command must be an argument list')
    command = ' '.join(_text(a) for a in command)
    retried = _dict(data, 'retried', who, required=False)
    swept = _dict(data, 'swept', who, required=False)
    check_mode = bool(data.get('check_mode'))

    actions = list(plan['alerts'])
    if retried and not retried.get('skipped'):
        if check_mode:
            actions.append('Would retry the failed and stuck mints (%s --dry-run listed them)' % command)
        else:
            summary = _retry_summary(retried)
            actions.append('Retried %s mint(s) with %s: %s completed, %s failed' % (
                _text(summary.get('retried')), command, _text(summary.get('completed')),
                _text(summary.get('failed'))))
    if check_mode and plan['retry_ready'] and not data.get('retry_dry_run'):
        actions.append('Would retry the failed and stuck mints with %s (not run in check mode: the inventory does '
                       'not say it has a dry run, platform_mint_retry_dry_run)' % command)
    if not check_mode and plan['retry_ready'] and not data.get('retry_confirm'):
        actions.append('Not retrying %d failed or stuck mint(s): each retry spends TON from the minting wallet; '
                       'confirm with -e p1_nft_minting_retry_confirm=true'
                       % (diagnosis['stuck_count'] + diagnosis['recent_failed_count']))
    if plan['retry_wanted'] and not (diagnosis['wallet_ok'] and diagnosis['pinata_ok']):
        why = (['the wallet balance is low'] if not diagnosis['wallet_ok'] else []) \
            + (['Pinata rejects the key'] if not diagnosis['pinata_ok'] else [])
        actions.append('Not retrying mints: %s, every mint would fail' % ' and '.join(why))
    if swept.get('changed'):
        actions.append('%s %s stuck mint(s) failed (pending for more than %s s; ids %s)' % (
            'Would mark' if check_mode else 'Marked', _text(swept.get('count')), _text(data.get('stuck_after')),
            ', '.join(_text(i) for i in swept.get('ids') or [])))
    if diagnosis['stuck_count'] > 0 and (not swept or swept.get('skipped')):
        actions.append('Not marking %d stuck mint(s) failed: confirm with -e p1_nft_minting_fail_stuck_confirm=true'
                       % diagnosis['stuck_count'])
    return actions


def _queue(mints):
    """The mint queue by status as the report writes it (JSON, as Jinja's to_json did)."""
    return json.dumps(mints.get('by_status') or {})


def minting_outcome(data):
    """The incident skeleton's outcome (filter incident_outcome) of the minting role.

    ``data`` keys: ``diagnosis`` (minting_diagnosis), ``mints`` (mint_transactions_info of the diagnosis),
    ``service``, ``actions`` (the fix's sentences, absent before it), ``mints_after`` (the queue read again at
    the end of the fix; skipped, failed or absent: the diagnosis's read stands), ``swept`` (mint_transactions'
    registered result, maybe skipped) and ``check_mode``."""
    who = 'minting_outcome'
    if not isinstance(data, dict):
        raise AnsibleFilterError('minting_outcome expects a dict (diagnosis, mints, service, actions, mints_after)')
    diagnosis = _diagnosis(data, who)
    mints = _dict(data, 'mints', who, required=False)
    after = _dict(data, 'mints_after', who, required=False)
    # Only a successful read has the queue: otherwise the diagnosis's numbers are the latest known.
    latest = after if 'by_status' in after else mints
    stuck = _count(after['stuck_count'], 'mints_after.stuck_count', who) if 'stuck_count' in after \
        else diagnosis['stuck_count']
    findings = [_text(f) for f in diagnosis.get('findings') or []]
    outcome = {
        'findings': findings,
        'errors': [_text(line) for line in (diagnosis.get('log_errors') or {}).get('lines') or []],
        'impacted': [_text(data.get('service'))] if findings else [],
        'health_before': 'wallet %s TON, Pinata %s, mints %s' % (
            'unknown' if diagnosis.get('balance_ton') is None else _text(diagnosis['balance_ton']),
            'ok' if diagnosis['pinata_ok'] else 'not ok', _queue(mints)),
        'resolved': bool(diagnosis['wallet_ok'] and diagnosis['pinata_ok'] and stuck == 0),
        'summary': 'Mint queue now %s' % _queue(latest),
        # The runbook's fixes (a retry, a sweep) do not restart the application: its health is asked once.
        'wait': False,
    }
    if data.get('actions') is not None:
        if not isinstance(data['actions'], list):
            raise AnsibleFilterError('minting_outcome: actions must be a list of sentences')
        outcome['actions'] = [_text(a) for a in data['actions']]
        swept = _dict(data, 'swept', who, required=False)
        # What the report's data-loss line lists; check mode changed nothing.
        outcome['data_changed'] = [
            'Marked %s stuck mint(s) failed (ids %s): their status in mint_transactions was pending; the platform\'s '
            'retry command retries failed mints' % (_text(swept.get('count')),
                                                    ', '.join(_text(i) for i in swept.get('ids') or []))
        ] if swept.get('changed') and not data.get('check_mode') else []
    return outcome


class FilterModule(object):
    def filters(self):
        return {'minting_diagnosis': minting_diagnosis, 'minting_plan': minting_plan,
                'minting_actions': minting_actions, 'minting_outcome': minting_outcome}
