# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Triage verdicts for the incident playbooks: what is wrong, and what P0 may do about it.

The roles register what the modules returned and hand it here; the decisions (which findings, which
services to start, whether a quick restart or an nginx reload is due) are Python with unit tests.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.module_utils._health import describe as describe_health
from ansible_collections.tgops.runbooks.plugins.module_utils._telegram_bot_info import webhook_verdict


def _ran(result):
    """A registered result of a task that ran (not skipped, not absent)."""
    return isinstance(result, dict) and bool(result) and not result.get('skipped')


def triage_summary(checks):
    """Merge the triage reads into one verdict.

    ``checks`` keys (each a registered module result, possibly skipped): ``platform`` (platform_info),
    ``health`` and ``public_health`` (health_check), ``telegram`` (telegram_bot_info), ``ton``
    (ton_wallet_info), ``pinata`` (pinata_auth_info); plus ``health_url``, ``public_health_url``,
    ``webhook_url`` (the URL a webhook bot must have, for a telegram_bot_info result that was not given it) and
    ``app_services``. Whether an answer through nginx is from this platform is health_check's judgement (its
    ``expected_platform``), whether the webhook is the platform's telegram_bot_info's (its ``webhook_url``): both
    read here as their verdicts."""
    if not isinstance(checks, dict):
        raise AnsibleFilterError('triage_summary expects a dict of check results')
    platform = checks.get('platform') or {}
    findings = []
    if _ran(platform) and platform.get('failed'):
        findings.append('platform state could not be read: %s' % platform.get('msg', 'unknown error'))
    findings.extend(platform.get('findings') or [])

    health = checks.get('health') or {}
    if not _ran(health) and (platform.get('health') or {}).get('checked'):
        # platform_info probed /health from the host; its findings already say what is wrong with it
        health = platform['health']
    elif _ran(health) and not health.get('passed'):
        findings.append(describe_health('health endpoint', checks.get('health_url', ''), health))
    app_healthy = _ran(health) and bool(health.get('passed'))

    public = checks.get('public_health') or {}
    public_healthy = None
    if _ran(public):
        public_healthy = bool(public.get('passed'))
        if not public_healthy:
            findings.append(describe_health('public health endpoint (through nginx)',
                                            checks.get('public_health_url', ''), public))
    # No probe of /health on the host at all: a healthy answer through nginx from this platform is the
    # application's answer.
    if not _ran(health) and public_healthy:
        app_healthy = True

    telegram = checks.get('telegram') or {}
    if _ran(telegram):
        if telegram.get('failed'):
            findings.append('Telegram Bot API check failed: %s' % telegram.get('msg', 'unknown error'))
        else:
            # Whether the webhook is the one the platform's mode and URL say is telegram_bot_info's judgement (the
            # role gives it expect_webhook and webhook_url); its webhook sentences come first, the others after.
            webhook_kind = (telegram.get('findings_by_kind') or {}).get('webhook') or []
            webhook = webhook_verdict(telegram, telegram.get('webhook_expected'), checks.get('webhook_url'))
            findings.extend('Telegram: %s' % p for p in webhook['findings'])
            findings.extend('Telegram: %s' % p for p in telegram.get('findings') or [] if p not in webhook_kind)

    ton = checks.get('ton') or {}
    if _ran(ton):
        if ton.get('failed'):
            findings.append('TON wallet check failed: %s' % ton.get('msg', 'unknown error'))
        elif ton.get('passed') is False:
            findings.append('TON wallet balance %s TON is below the threshold' % ton.get('balance_ton'))

    pinata = checks.get('pinata') or {}
    if _ran(pinata) and (pinata.get('failed') or not pinata.get('passed', True)):
        findings.append('Pinata authentication failed: %s' % pinata.get('msg', 'not authenticated'))

    down = list(platform.get('down') or [])
    unhealthy = list(platform.get('unhealthy') or [])
    app_services = list(checks.get('app_services') or [])
    return {
        'findings': findings,
        'healthy': not findings,
        'down': down,
        'unhealthy': unhealthy,
        'app_healthy': app_healthy,
        'public_healthy': public_healthy,
        'app_services_down': [s for s in app_services if s in down],
        'health_status': health.get('status') if _ran(health) else (public.get('status') if public_healthy else None),
        'public_health_status': public.get('status') if _ran(public) else None,
        'errors': list((platform.get('logs') or {}).get('errors') or []),
    }


def triage_telegram_options(bot):
    """The options of telegram_bot_info that depend on the bot's mode.

    ``bot`` keys: ``mode`` (``webhook``, ``polling`` or anything else: not known) and ``webhook_url``. A known mode
    sets ``expect_webhook`` (a polling bot with a leftover webhook gets 409 from getUpdates; a webhook bot needs
    one); a webhook bot also gets ``webhook_url`` (whether the webhook is this URL is the module's verdict). An
    option left out is not passed (``default(omit)`` in the task)."""
    if not isinstance(bot, dict):
        raise AnsibleFilterError('triage_telegram_options expects a dict with mode and webhook_url')
    mode = bot.get('mode')
    options = {}
    if mode in ('webhook', 'polling'):
        options['expect_webhook'] = mode == 'webhook'
    if mode == 'webhook':
        options['webhook_url'] = bot.get('webhook_url', '')
    return options


def triage_report(report):
    """What the triage role prints: each service's state, the health answers, the findings, the ERROR count.

    ``report`` keys: ``services`` (platform_info's list of ``service``/``state``), ``result`` (triage_summary's
    verdict), ``public_health_url`` (empty when the public URL is not checked) and ``recent_errors``."""
    if not isinstance(report, dict) or not isinstance(report.get('result'), dict):
        raise AnsibleFilterError('triage_report expects a dict with services, result (the triage_summary verdict), '
                                 'public_health_url and recent_errors')
    result = report['result']
    services = report.get('services') or []
    return {
        'services': dict((item.get('service'), item.get('state')) for item in services),
        'health': result.get('health_status') or 'no answer',
        'public_health': result.get('public_health_status') or (
            'no answer' if report.get('public_health_url') else 'not checked'),
        'findings': result.get('findings') or ['nothing wrong found'],
        'recent_errors': report.get('recent_errors'),
    }


def p0_plan(triage, app_services, proxy_service=None, allow_restart=True, proxy_resolves=False):
    """What the P0 playbook does first, from the triage verdict (runbook steps 4 and 5).

    - ``start``: every service that is not running (``docker compose up -d`` for those, idempotent);
    - ``restart``: the application services, when they all run but the application is unhealthy, or
      unhealthy by Docker's own health check (the runbook's quick restart) - only when allowed;
    - ``reload_proxy``: reload nginx when it runs and the public path fails while the application answers
      directly (nginx kept an old upstream address), or when an application service is (re)started and
      nginx resolves its upstream only at start (``proxy_resolves`` false: a static ``upstream``). An nginx
      that re-resolves through Docker's DNS finds a restarted application by itself.
    The verify step after these decides on the quick restart again if health is still bad."""
    if not isinstance(triage, dict):
        raise AnsibleFilterError('p0_plan expects the triage_summary result')
    down = list(triage.get('down') or [])
    unhealthy = list(triage.get('unhealthy') or [])
    app_services = list(app_services or [])
    restart = []
    if allow_restart and not [s for s in app_services if s in down]:
        if not triage.get('app_healthy') or [s for s in app_services if s in unhealthy]:
            restart = app_services
    touches_app = bool(restart or [s for s in app_services if s in down])
    proxy_running = bool(proxy_service) and proxy_service not in down
    stale_proxy = triage.get('app_healthy') and triage.get('public_healthy') is False
    reload_proxy = proxy_running and ((touches_app and not proxy_resolves) or bool(stale_proxy))
    return {
        'start': down,
        'restart': restart,
        'reload_proxy': reload_proxy,
        'act': bool(down or restart or reload_proxy),
    }


def _would(plan):
    """What a real run of P0 does with this plan, in the order it does it."""
    steps = []
    if plan.get('start'):
        steps.append('start %s' % ', '.join(plan['start']))
    if plan.get('restart'):
        steps.append('restart %s (the quick restart)' % ', '.join(plan['restart']))
    if plan.get('reload_proxy'):
        steps.append('reload nginx')
    if not steps:
        steps.append('nothing by itself (no service is down, and the quick restart is not allowed)')
    steps.append('wait for health, then the fallbacks while it is not back: nginx reload, quick restart, '
                 'roll back when p0_allow_rollback')
    return steps


def p0_verdict(plan, triage, waited=None, check_mode=False):
    """Whether P0 leaves the service healthy, and the health status to report at the end.

    After acting (``plan.act``), ``waited`` is the service_health role's answer (``healthy``: the combined
    verdict, ``result``: the /health probe) and decides. When nothing needed doing, triage's probes of moments
    ago are the verification: the application answered healthy and the public URL, when checked, did too.

    In check mode nothing was done, so the service is only healthy when triage found it healthy and nothing
    to do: a service down or unhealthy fails the host (the AWX workflow's triage node takes its failure edge
    to the approval), and ``would`` says what a real run does."""
    if not isinstance(plan, dict) or not isinstance(triage, dict):
        raise AnsibleFilterError('p0_verdict expects the p0_plan and triage_summary results')
    triage_healthy = bool(triage.get('app_healthy')) and triage.get('public_healthy') is not False
    health_at_triage = triage.get('public_health_status') or triage.get('health_status')
    if check_mode:
        healthy = triage_healthy and not plan.get('act')
        return {'healthy': healthy, 'health_after': health_at_triage, 'would': [] if healthy else _would(plan)}
    if plan.get('act'):
        waited = waited if isinstance(waited, dict) else {}
        result = waited.get('result') if isinstance(waited.get('result'), dict) else {}
        return {'healthy': bool(waited.get('healthy')), 'health_after': result.get('status')}
    return {'healthy': triage_healthy, 'health_after': health_at_triage}


class FilterModule(object):
    def filters(self):
        return {
            'triage_summary': triage_summary,
            'triage_telegram_options': triage_telegram_options,
            'triage_report': triage_report,
            'p0_plan': p0_plan,
            'p0_verdict': p0_verdict,
        }
