# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Verdicts of the daily and weekly checklists, and the SSL renewal decision.

The checks role registers what the modules returned and hands it here: which checks pass, warn or
fail, with which thresholds, and the one-line-per-check summary are Python with unit tests.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import calendar
import time
from decimal import Decimal, InvalidOperation

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.plugin_utils._results import ran as _ran

OK = 'ok'
WARN = 'warn'
FAIL = 'fail'
SKIP = 'skip'

# The checks each checklist runs, in the order the summary lists them.
DAILY = ['health_public', 'health_host', 'services', 'disk', 'backup_recency', 'backup_verify', 'log_errors',
         'backup_timer']
WEEKLY = DAILY + ['database_size', 'slow_queries', 'ton_balance', 'certificate', 'upgradable_packages']

DEFAULTS = {
    'disk_warn_percent': 80.0,
    'disk_fail_percent': 90.0,
    'backup_max_age_hours': 26.0,
    'log_errors_warn': 1,
    'log_errors_fail': 0,          # 0: ERROR lines never fail the checklist on their own
    'cert_warn_days': 30.0,
    'cert_fail_days': 7.0,
    'database_size_warn_mb': 0,    # 0: size reported, never judged
    'upgradable_warn': 1,
    'slow_queries_warn': 1,
}


def _check(name, status, detail):
    return {'name': name, 'status': status, 'detail': detail}


def _failed_module(result, success_key):
    """The message of a module that failed, else None. Registered with failed_when: false, a failed read has
    failed=false, so a read is judged by ``success_key``, which only a success returns."""
    if result.get('failed') or success_key not in result:
        return str(result.get('msg') or 'the module failed')
    return None


def _num(value, what):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError('checks: %s must be a number, got %r' % (what, value))


def cert_days_left(not_after, now=None):
    """Days until an ASN.1 GeneralizedTime (C(20270101000000Z), as community.crypto returns it)."""
    if not isinstance(not_after, str) or not not_after:
        raise AnsibleFilterError('checks: certificate not_after is missing')
    try:
        stamp = calendar.timegm(time.strptime(not_after.rstrip('Z'), '%Y%m%d%H%M%S'))
    except ValueError:
        raise AnsibleFilterError('checks: certificate not_after %r is not YYYYMMDDHHMMSSZ' % not_after)
    return (stamp - (time.time() if now is None else now)) / 86400.0


def _health(name, result, url):
    if not _ran(result):
        return _check(name, SKIP, 'not checked')
    if result.get('passed'):
        return _check(name, OK, '%s healthy (%s)' % (url, result.get('version') or 'no version'))
    status = result.get('status')
    reasons = result.get('findings') or [result.get('msg') or 'no answer']
    detail = '%s %s' % (url, ('reports ' + status) if status else 'is not healthy')
    if result.get('unhealthy_dependencies'):
        detail += ' (unhealthy: %s)' % ', '.join(result['unhealthy_dependencies'])
    return _check(name, FAIL, detail + ': ' + '; '.join(str(r) for r in reasons))


def _services(platform):
    bad = []
    for service in platform.get('down') or []:
        bad.append('%s down' % service)
    for service in platform.get('unhealthy') or []:
        bad.append('%s unhealthy' % service)
    for name in ('database', 'redis'):
        probe = platform.get(name) or {}
        if probe.get('checked') and not probe.get('reachable'):
            bad.append('%s unreachable (%s)' % (name, probe.get('error') or 'no answer'))
    unit = platform.get('unit')
    if isinstance(unit, dict) and unit.get('name') and unit.get('active_state') != 'active':
        bad.append('unit %s is %s' % (unit['name'], unit.get('active_state') or 'unknown'))
    if bad:
        return _check('services', FAIL, '; '.join(bad))
    return _check('services', OK, 'all services running')


def _disk(platform, t):
    rows = platform.get('disk') or []
    if not rows:
        return _check('disk', SKIP, 'no paths read')
    status, parts = OK, []
    for row in rows:
        if row.get('error'):
            status = FAIL
            parts.append('%s: %s' % (row.get('path'), row['error']))
            continue
        used = max(_num(row.get('used_percent', 0), 'used_percent'),
                   _num(row.get('inodes_used_percent', 0) or 0, 'inodes_used_percent'))
        parts.append('%s %.0f%%' % (row.get('path'), used))
        if used >= t['disk_fail_percent']:
            status = FAIL
        elif used >= t['disk_warn_percent'] and status != FAIL:
            status = WARN
    return _check('disk', status, ', '.join(parts))


def _backup_recency(platform, t):
    backups = platform.get('backups') or {}
    if not backups.get('checked'):
        return _check('backup_recency', SKIP, 'no backup directory configured')
    if backups.get('error'):
        return _check('backup_recency', FAIL, 'cannot list %s: %s' % (backups.get('dir'), backups['error']))
    if not backups.get('count') or not backups.get('newest'):
        return _check('backup_recency', FAIL, 'no backup matching %s in %s' % (backups.get('pattern'), backups.get('dir')))
    hours = _num(backups.get('age_seconds', 0), 'backup age') / 3600.0
    detail = 'newest %s is %.1f h old (limit %.0f h)' % (backups['newest'], hours, t['backup_max_age_hours'])
    if t['backup_max_age_hours'] > 0 and hours > t['backup_max_age_hours']:
        return _check('backup_recency', FAIL, detail)
    return _check('backup_recency', OK, detail)


def _backup_verify(result):
    if not _ran(result):
        return _check('backup_verify', SKIP, 'no backup to verify')
    if result.get('passed'):
        return _check('backup_verify', OK, '%s verified' % result.get('path'))
    failed = [name for name, check in (result.get('checks') or {}).items()
              if isinstance(check, dict) and not check.get('passed')]
    return _check('backup_verify', FAIL, '%s failed: %s' % (
        result.get('path') or 'newest backup', ', '.join(failed) if failed else (result.get('msg') or 'not verified')))


def _log_errors(platform, t):
    logs = platform.get('logs') or {}
    if not logs.get('checked'):
        return _check('log_errors', SKIP, 'logs not read')
    if logs.get('failures'):
        return _check('log_errors', FAIL, 'cannot read logs: %s' % '; '.join(logs['failures']))
    count = int(logs.get('error_count') or 0)
    detail = '%d ERROR lines in the last %s' % (count, logs.get('since'))
    if t['log_errors_fail'] > 0 and count >= t['log_errors_fail']:
        return _check('log_errors', FAIL, detail)
    if t['log_errors_warn'] > 0 and count >= t['log_errors_warn']:
        return _check('log_errors', WARN, detail)
    return _check('log_errors', OK, detail)


def _timer(timer):
    if not isinstance(timer, dict) or not timer.get('method'):
        return _check('backup_timer', SKIP, 'not checked')
    if timer['method'] == 'systemd':
        state = timer.get('active_state') or 'unknown'
        if state != 'active':
            return _check('backup_timer', FAIL, '%s is %s' % (timer.get('name'), state))
        detail = '%s active' % timer.get('name')
        if timer.get('next'):
            detail += ', next %s' % timer['next']
        return _check('backup_timer', OK, detail)
    if not timer.get('present'):
        return _check('backup_timer', FAIL, 'no cron entry %s' % timer.get('name'))
    return _check('backup_timer', OK, 'cron entry %s present' % timer.get('name'))


def _database_size(db, t):
    if not _ran(db):
        return _check('database_size', SKIP, 'not checked')
    err = _failed_module(db, 'database_size_bytes')
    if err:
        return _check('database_size', FAIL, 'cannot read the database: %s' % err)
    size_mb = _num(db.get('database_size_bytes') or 0, 'database_size_bytes') / 1048576.0
    detail = '%s is %.1f MB' % (db.get('database'), size_mb)
    if t['database_size_warn_mb'] > 0 and size_mb >= t['database_size_warn_mb']:
        return _check('database_size', WARN, detail + ' (warn at %d MB)' % t['database_size_warn_mb'])
    return _check('database_size', OK, detail)


def _slow_queries(db, t):
    if not _ran(db):
        return _check('slow_queries', SKIP, 'not checked')
    err = _failed_module(db, 'database_size_bytes')
    if err:
        return _check('slow_queries', FAIL, 'cannot read the database: %s' % err)
    if not db.get('pg_stat_statements'):
        return _check('slow_queries', WARN, 'pg_stat_statements is not installed: slow statements cannot be listed')
    slow = db.get('slow_statements') or []
    if t['slow_queries_warn'] > 0 and len(slow) >= t['slow_queries_warn']:
        worst = slow[0]
        return _check('slow_queries', WARN, '%d slow statements; slowest mean %s ms: %s' % (
            len(slow), worst.get('mean_ms'), str(worst.get('query', ''))[:80]))
    return _check('slow_queries', OK, 'no slow statements')


def _ton(ton):
    if not _ran(ton):
        return _check('ton_balance', SKIP, 'no TON wallet configured')
    err = _failed_module(ton, 'balance_ton')
    if err:
        return _check('ton_balance', FAIL, 'cannot read the balance: %s' % err)
    try:
        balance = Decimal(str(ton.get('balance_ton')))
    except (InvalidOperation, ValueError):
        return _check('ton_balance', FAIL, 'unreadable balance %r' % ton.get('balance_ton'))
    detail = '%s TON' % balance
    if ton.get('passed') is False:
        return _check('ton_balance', FAIL, detail + ' is below %s TON' % ton.get('min_balance_ton'))
    return _check('ton_balance', OK, detail)


def _certificate(cert, t, now):
    if not _ran(cert):
        return _check('certificate', SKIP, 'not checked')
    err = _failed_module(cert, 'not_after')
    if err:
        return _check('certificate', FAIL, 'cannot read the certificate: %s' % err)
    days = cert_days_left(cert.get('not_after'), now)
    detail = 'expires %s (%.1f days)' % (cert.get('not_after'), days)
    if days <= t['cert_fail_days']:
        return _check('certificate', FAIL, detail + ', within %g days' % t['cert_fail_days'])
    if days <= t['cert_warn_days']:
        return _check('certificate', WARN, detail + ', within %g days' % t['cert_warn_days'])
    return _check('certificate', OK, detail)


def _upgradable(result, t):
    if not _ran(result):
        return _check('upgradable_packages', SKIP, 'not checked')
    if result.get('rc', 0) != 0:
        return _check('upgradable_packages', FAIL, 'apt list failed: %s' % (result.get('stderr') or result.get('rc')))
    packages = [line.split('/', 1)[0] for line in result.get('stdout_lines') or [] if '/' in line and '[upgradable' in line]
    if t['upgradable_warn'] > 0 and len(packages) >= t['upgradable_warn']:
        shown = ', '.join(packages[:10]) + (', ...' if len(packages) > 10 else '')
        return _check('upgradable_packages', WARN, '%d upgradable: %s' % (len(packages), shown))
    return _check('upgradable_packages', OK, 'none upgradable')


def _thresholds(given):
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise AnsibleFilterError('checks: thresholds must be a dict')
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise AnsibleFilterError('checks: unknown thresholds %s' % ', '.join(unknown))
    merged = dict(DEFAULTS)
    for key, value in given.items():
        merged[key] = _num(value, key)
    if merged['disk_warn_percent'] > merged['disk_fail_percent']:
        raise AnsibleFilterError('checks: disk_warn_percent must not exceed disk_fail_percent')
    if merged['cert_fail_days'] > merged['cert_warn_days']:
        raise AnsibleFilterError('checks: cert_fail_days must not exceed cert_warn_days')
    return merged


def checks_evaluate(reads, checklist='daily', thresholds=None, now=None):
    """One verdict per check of the checklist from the registered reads.

    ``reads`` keys: ``platform`` (platform_info), ``health_public``/``health_host`` (health_check),
    ``backup_verify``, ``database`` (postgres_activity_info), ``ton`` (ton_wallet_info), ``certificate``
    (get_certificate / x509_certificate_info), ``upgradable`` (registered ``apt list --upgradable``),
    ``timer`` ({method, name, active_state | present}) and ``public_url`` / ``host_url``.
    """
    if not isinstance(reads, dict):
        raise AnsibleFilterError('checks_evaluate: expected a dict of registered results')
    if checklist not in ('daily', 'weekly'):
        raise AnsibleFilterError('checks_evaluate: checklist must be daily or weekly, got %r' % (checklist,))
    t = _thresholds(thresholds)
    platform = reads.get('platform')
    if not _ran(platform):
        raise AnsibleFilterError('checks_evaluate: the platform_info result is required')
    built = {
        'health_public': lambda: _health('health_public', reads.get('health_public'), reads.get('public_url')),
        'health_host': lambda: _health('health_host', reads.get('health_host'), reads.get('host_url')),
        'services': lambda: _services(platform),
        'disk': lambda: _disk(platform, t),
        'backup_recency': lambda: _backup_recency(platform, t),
        'backup_verify': lambda: _backup_verify(reads.get('backup_verify')),
        'log_errors': lambda: _log_errors(platform, t),
        'backup_timer': lambda: _timer(reads.get('timer')),
        'database_size': lambda: _database_size(reads.get('database'), t),
        'slow_queries': lambda: _slow_queries(reads.get('database'), t),
        'ton_balance': lambda: _ton(reads.get('ton')),
        'certificate': lambda: _certificate(reads.get('certificate'), t, now),
        'upgradable_packages': lambda: _upgradable(reads.get('upgradable'), t),
    }
    return [built[name]() for name in (DAILY if checklist == 'daily' else WEEKLY)]


def checks_summary(checks, host=''):
    """Fold the verdicts into one summary: failed and warning check names, and one line per check."""
    if not isinstance(checks, list) or not all(isinstance(c, dict) and c.get('status') in (OK, WARN, FAIL, SKIP)
                                               for c in checks):
        raise AnsibleFilterError('checks_summary: expected the list checks_evaluate returns')
    failed = [c['name'] for c in checks if c['status'] == FAIL]
    warnings = [c['name'] for c in checks if c['status'] == WARN]
    status = FAIL if failed else (WARN if warnings else OK)
    lines = ['%-4s %s: %s' % (c['status'].upper(), c['name'], c['detail']) for c in checks]
    if failed:
        msg = '%s: FAILED checks: %s' % (host, ', '.join(failed))
    else:
        msg = '%s: all checks passed' % host
    if warnings:
        msg += '; warnings: %s' % ', '.join(warnings)
    return {'host': host, 'status': status, 'passed': not failed, 'failed': failed, 'warnings': warnings,
            'lines': lines, 'msg': msg, 'checks': checks}


def ssl_renew_due(cert, renew_days, now=None):
    """Whether a certificate (community.crypto's not_after) expires within ``renew_days`` days."""
    days = _num(renew_days, 'ssl_renew_days')
    if days < 0:
        raise AnsibleFilterError('ssl_renew_due: ssl_renew_days must not be negative')
    if not isinstance(cert, dict):
        raise AnsibleFilterError('ssl_renew_due: expected the certificate information dict')
    return cert_days_left(cert.get('not_after'), now) <= days


def checks_timer(reads):
    """The backup schedule as checks_evaluate judges it, from what the checks role read.

    ``reads`` keys: ``method`` (``systemd``; anything else is cron), ``unit`` (the schedule's unit name),
    ``systemd`` (the registered ``systemctl show --property=ActiveState --property=NextElapseUSecRealtime``,
    which prints ``Name=value`` lines) and ``cron`` (the registered stat of the cron.d file). A read that was
    skipped or failed gives empty values (an unknown state, an absent file), which checks_evaluate judges."""
    if not isinstance(reads, dict):
        raise AnsibleFilterError('checks_timer expects a dict with method, unit, systemd and cron')
    unit = reads.get('unit', '')
    if reads.get('method') == 'systemd':
        systemd = reads.get('systemd') if isinstance(reads.get('systemd'), dict) else {}
        props = dict(line.split('=', 1) for line in systemd.get('stdout_lines') or [] if '=' in line)
        return {'method': 'systemd', 'name': '%s.timer' % unit,
                'active_state': props.get('ActiveState', ''), 'next': props.get('NextElapseUSecRealtime', '')}
    cron = reads.get('cron') if isinstance(reads.get('cron'), dict) else {}
    return {'method': 'cron', 'name': '/etc/cron.d/%s' % str(unit).replace('.', '_'),
            'present': bool((cron.get('stat') or {}).get('exists', False))}


class FilterModule(object):
    def filters(self):
        return {
            'checks_evaluate': checks_evaluate,
            'checks_summary': checks_summary,
            'checks_timer': checks_timer,
            'ssl_renew_due': ssl_renew_due,
        }
