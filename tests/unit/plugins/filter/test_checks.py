"""filter/checks: verdicts of the daily and weekly checklists, the summary, the SSL renewal decision."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import calendar

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tgops.runbooks.plugins.filter.checks import (
    cert_days_left, checks_evaluate, checks_summary, checks_timer, ssl_renew_due)

NOW = calendar.timegm((2026, 11, 23, 12, 0, 0))
SKIPPED = {'skipped': True, 'changed': False}


def stamp(days):
    import time
    return time.strftime('%Y%m%d%H%M%SZ', time.gmtime(NOW + days * 86400))


def platform(**kw):
    base = {'down': [], 'unhealthy': [], 'findings': [],
            'database': {'checked': True, 'reachable': True}, 'redis': {'checked': True, 'reachable': True},
            'disk': [{'path': '/', 'used_percent': 40.0, 'inodes_used_percent': 5.0}],
            'backups': {'checked': True, 'dir': '/backup', 'pattern': 'backup_*.dump', 'count': 3,
                        'newest': 'backup_20261123_030000.dump', 'age_seconds': 9 * 3600},
            'logs': {'checked': True, 'since': '24h', 'error_count': 0, 'errors': [], 'failures': []}}
    base.update(kw)
    return base


def reads(**kw):
    base = {'platform': platform(), 'public_url': 'https://p/health', 'host_url': 'http://h/health',
            'health_public': {'passed': True, 'status': 'healthy', 'version': 'v1'},
            'health_host': {'passed': True, 'status': 'healthy', 'version': 'v1'},
            'backup_verify': {'passed': True, 'path': '/backup/b.dump'},
            'timer': {'method': 'systemd', 'name': 'toogoodtogo-backup.timer', 'active_state': 'active'},
            'database': {'database': 'db', 'database_size_bytes': 10 * 1048576, 'pg_stat_statements': True,
                         'slow_statements': []},
            'ton': SKIPPED,
            'certificate': {'not_after': stamp(80)},
            'upgradable': {'rc': 0, 'stdout_lines': ['Listing...']}}
    base.update(kw)
    return base


def verdict(checks, name):
    return [c for c in checks if c['name'] == name][0]


def test_healthy_daily_passes():
    checks = checks_evaluate(reads(), 'daily', now=NOW)
    summary = checks_summary(checks, 'h1')
    assert summary['passed'] and summary['status'] == 'ok', summary['lines']
    names = ['health_public', 'health_host', 'services', 'disk', 'backup_recency', 'backup_verify', 'log_errors',
             'backup_timer']
    assert [c['name'] for c in checks] == names


def test_weekly_adds_checks_and_skips_unconfigured_ton():
    checks = checks_evaluate(reads(), 'weekly', now=NOW)
    assert verdict(checks, 'ton_balance')['status'] == 'skip'
    assert verdict(checks, 'certificate')['status'] == 'ok'
    assert checks_summary(checks, 'h')['passed']


def test_stale_backup_fails_and_is_named():
    old = platform(backups={'checked': True, 'dir': '/b', 'pattern': '*', 'count': 1, 'newest': 'old.dump',
                            'age_seconds': 30 * 86400})
    summary = checks_summary(checks_evaluate(reads(platform=old), now=NOW), 'h1')
    assert summary['failed'] == ['backup_recency']
    assert 'backup_recency' in summary['msg'] and not summary['passed']


def test_backup_age_threshold_is_configurable():
    p = platform(backups={'checked': True, 'dir': '/b', 'pattern': '*', 'count': 1, 'newest': 'x', 'age_seconds': 5 * 3600})
    assert verdict(checks_evaluate(reads(platform=p), now=NOW), 'backup_recency')['status'] == 'ok'
    checks = checks_evaluate(reads(platform=p), thresholds={'backup_max_age_hours': 4}, now=NOW)
    assert verdict(checks, 'backup_recency')['status'] == 'fail'


@pytest.mark.parametrize('backups', [
    {'checked': True, 'dir': '/b', 'pattern': '*.dump', 'count': 0, 'newest': ''},
    {'checked': True, 'dir': '/b', 'pattern': '*.dump', 'error': 'No such file or directory'},
])
def test_missing_backup_fails(backups):
    assert verdict(checks_evaluate(reads(platform=platform(backups=backups)), now=NOW), 'backup_recency')['status'] == 'fail'


def test_failed_verification_names_the_failed_checks():
    bad = {'passed': False, 'path': '/b/x.dump', 'findings': ['integrity: truncated'],
           'checks': {'size': {'passed': True, 'detail': '1 MB'}, 'integrity': {'passed': False, 'detail': 'truncated'}}}
    c = verdict(checks_evaluate(reads(backup_verify=bad), now=NOW), 'backup_verify')
    assert c['status'] == 'fail' and c['detail'] == '/b/x.dump failed: integrity'


@pytest.mark.parametrize('days,status', [(80, 'ok'), (30.5, 'ok'), (29, 'warn'), (7.5, 'warn'), (6, 'fail'), (-1, 'fail')])
def test_certificate_thresholds(days, status):
    c = verdict(checks_evaluate(reads(certificate={'not_after': stamp(days)}), 'weekly', now=NOW), 'certificate')
    assert c['status'] == status, c


def test_certificate_read_failure_fails():
    c = verdict(checks_evaluate(reads(certificate={'failed': True, 'msg': 'connection refused'}), 'weekly', now=NOW),
                'certificate')
    assert c['status'] == 'fail' and 'refused' in c['detail']


@pytest.mark.parametrize('used,status', [(50, 'ok'), (80, 'warn'), (89.9, 'warn'), (90, 'fail')])
def test_disk_thresholds(used, status):
    p = platform(disk=[{'path': '/', 'used_percent': 10}, {'path': '/backup', 'used_percent': used}])
    assert verdict(checks_evaluate(reads(platform=p), now=NOW), 'disk')['status'] == status


def test_inodes_count_as_disk_use():
    p = platform(disk=[{'path': '/', 'used_percent': 10, 'inodes_used_percent': 95}])
    assert verdict(checks_evaluate(reads(platform=p), now=NOW), 'disk')['status'] == 'fail'


def test_error_lines_warn_by_default_and_fail_at_threshold():
    p = platform(logs={'checked': True, 'since': '12h', 'error_count': 4, 'errors': [], 'failures': []})
    assert verdict(checks_evaluate(reads(platform=p), now=NOW), 'log_errors')['status'] == 'warn'
    checks = checks_evaluate(reads(platform=p), thresholds={'log_errors_fail': 3}, now=NOW)
    assert verdict(checks, 'log_errors')['status'] == 'fail'
    summary = checks_summary(checks_evaluate(reads(platform=p), now=NOW), 'h')
    assert summary['passed'] and summary['warnings'] == ['log_errors'] and summary['status'] == 'warn'


def test_unreadable_logs_fail():
    p = platform(logs={'checked': True, 'since': '12h', 'error_count': 0, 'failures': ['bot: no such container']})
    assert verdict(checks_evaluate(reads(platform=p), now=NOW), 'log_errors')['status'] == 'fail'


@pytest.mark.parametrize('change', [
    {'down': ['bot']}, {'unhealthy': ['nginx']}, {'database': {'checked': True, 'reachable': False, 'error': 'x'}},
    {'unit': {'name': 'toogoodtogo', 'active_state': 'inactive'}},
])
def test_services_fail(change):
    assert verdict(checks_evaluate(reads(platform=platform(**change)), now=NOW), 'services')['status'] == 'fail'


def test_unhealthy_public_url_fails_with_reason():
    bad = {'passed': False, 'status': None, 'findings': ['no answer: certificate verify failed']}
    c = verdict(checks_evaluate(reads(health_public=bad), now=NOW), 'health_public')
    assert c['status'] == 'fail' and 'certificate verify failed' in c['detail']


def test_a_public_url_serving_another_platform_fails():
    """The daily and weekly checks ask health_check for the platform's own answer (expected_platform): an nginx that
    proxies to the other platform's application fails the public check, as in triage and service_health."""
    other = {'passed': False, 'status': 'healthy', 'version': 'v1',
             'findings': ['answers from platform toogoodtogo, not tgquiz (a proxy in front serves another application)']}
    c = verdict(checks_evaluate(reads(health_public=other), now=NOW), 'health_public')
    assert c['status'] == 'fail' and 'answers from platform toogoodtogo, not tgquiz' in c['detail']


@pytest.mark.parametrize('timer,status', [
    ({'method': 'systemd', 'name': 't.timer', 'active_state': 'inactive'}, 'fail'),
    ({'method': 'systemd', 'name': 't.timer', 'active_state': ''}, 'fail'),
    ({'method': 'cron', 'name': '/etc/cron.d/tgquiz-backup', 'present': True}, 'ok'),
    ({'method': 'cron', 'name': '/etc/cron.d/tgquiz-backup', 'present': False}, 'fail'),
])
def test_backup_timer(timer, status):
    assert verdict(checks_evaluate(reads(timer=timer), now=NOW), 'backup_timer')['status'] == status


def test_ton_below_threshold_fails_and_unreadable_fails():
    low = {'balance_ton': '0.1', 'passed': False, 'min_balance_ton': '0.5'}
    assert verdict(checks_evaluate(reads(ton=low), 'weekly', now=NOW), 'ton_balance')['status'] == 'fail'
    fine = {'balance_ton': '12.5', 'passed': True}
    assert verdict(checks_evaluate(reads(ton=fine), 'weekly', now=NOW), 'ton_balance')['status'] == 'ok'
    err = {'failed': True, 'msg': 'toncenter said 401'}
    assert verdict(checks_evaluate(reads(ton=err), 'weekly', now=NOW), 'ton_balance')['status'] == 'fail'


def test_slow_queries_and_missing_extension_warn():
    slow = {'database': 'db', 'database_size_bytes': 1, 'pg_stat_statements': True,
            'slow_statements': [{'mean_ms': 2500.0, 'query': 'SELECT * FROM quiz_results'}]}
    c = verdict(checks_evaluate(reads(database=slow), 'weekly', now=NOW), 'slow_queries')
    assert c['status'] == 'warn' and '2500' in c['detail']
    none = dict(slow, pg_stat_statements=False, slow_statements=[])
    assert verdict(checks_evaluate(reads(database=none), 'weekly', now=NOW), 'slow_queries')['status'] == 'warn'


def test_database_size_warn_only_when_configured():
    big = {'database': 'db', 'database_size_bytes': 600 * 1048576, 'pg_stat_statements': True, 'slow_statements': []}
    assert verdict(checks_evaluate(reads(database=big), 'weekly', now=NOW), 'database_size')['status'] == 'ok'
    checks = checks_evaluate(reads(database=big), 'weekly', thresholds={'database_size_warn_mb': 500}, now=NOW)
    assert verdict(checks, 'database_size')['status'] == 'warn'


def test_upgradable_packages_warn_with_names():
    up = {'rc': 0, 'stdout_lines': ['Listing...', 'openssl/stable-security 3.0.15 amd64 [upgradable from: 3.0.14]']}
    c = verdict(checks_evaluate(reads(upgradable=up), 'weekly', now=NOW), 'upgradable_packages')
    assert c['status'] == 'warn' and 'openssl' in c['detail']


def test_several_failures_all_named_in_order():
    p = platform(down=['bot'], backups={'checked': True, 'dir': '/b', 'pattern': '*', 'count': 0})
    summary = checks_summary(checks_evaluate(reads(platform=p), now=NOW), 'h9')
    assert summary['failed'] == ['services', 'backup_recency']
    assert summary['msg'].startswith('h9: FAILED checks: services, backup_recency')
    assert any(line.startswith('FAIL services') for line in summary['lines'])


@pytest.mark.parametrize('bad', [
    lambda: checks_evaluate('x'),
    lambda: checks_evaluate(reads(), 'monthly'),
    lambda: checks_evaluate(reads(platform=SKIPPED)),
    lambda: checks_evaluate(reads(), thresholds={'disk_typo': 1}),
    lambda: checks_evaluate(reads(), thresholds={'disk_warn_percent': 'lots'}),
    lambda: checks_evaluate(reads(), thresholds={'disk_warn_percent': 95}),
    lambda: checks_evaluate(reads(certificate={'not_after': 'soon'}), 'weekly'),
    lambda: checks_summary([{'name': 'x', 'status': 'maybe'}]),
    lambda: ssl_renew_due({'not_after': stamp(3)}, -1),
    lambda: ssl_renew_due('x', 30),
])
def test_bad_input_is_a_clear_error(bad):
    with pytest.raises(AnsibleFilterError):
        bad()


def test_ssl_renew_due():
    assert ssl_renew_due({'not_after': stamp(3)}, 30, now=NOW)
    assert not ssl_renew_due({'not_after': stamp(60)}, 30, now=NOW)
    assert ssl_renew_due({'not_after': stamp(-2)}, 0, now=NOW)
    assert abs(cert_days_left(stamp(10), NOW) - 10) < 1e-6


def test_failed_reads_registered_with_failed_when_false_fail():
    # failed_when: false leaves failed=false: only the missing success keys tell
    db = {'failed': False, 'msg': 'connection refused'}
    checks = checks_evaluate(reads(database=db, ton={'failed': False, 'msg': 'x'}, certificate={'failed': False, 'msg': 'y'}),
                             'weekly', now=NOW)
    for name in ('database_size', 'slow_queries', 'ton_balance', 'certificate'):
        assert verdict(checks, name)['status'] == 'fail', name


def test_timer_reads_systemctl_show():
    shown = {'stdout_lines': ['ActiveState=active', 'NextElapseUSecRealtime=Tue 2026-12-08 03:00:00 UTC', 'junk']}
    assert checks_timer({'method': 'systemd', 'unit': 'tgquiz-backup', 'systemd': shown, 'cron': SKIPPED}) == {
        'method': 'systemd', 'name': 'tgquiz-backup.timer', 'active_state': 'active',
        'next': 'Tue 2026-12-08 03:00:00 UTC'}


def test_timer_not_read_is_an_unknown_state():
    failed = {'failed': False, 'rc': 1, 'stdout_lines': []}
    for systemd in (failed, SKIPPED, None):
        out = checks_timer({'method': 'systemd', 'unit': 'u', 'systemd': systemd, 'cron': SKIPPED})
        assert (out['active_state'], out['next']) == ('', '')


def test_timer_cron_file():
    present = {'stat': {'exists': True}}
    assert checks_timer({'method': 'cron', 'unit': 'tgquiz.backup', 'systemd': SKIPPED, 'cron': present}) == {
        'method': 'cron', 'name': '/etc/cron.d/tgquiz_backup', 'present': True}
    assert not checks_timer({'method': 'cron', 'unit': 'u', 'systemd': SKIPPED, 'cron': SKIPPED})['present']
    assert not checks_timer({'method': 'cron', 'unit': 'u', 'cron': {'stat': {'exists': False}}})['present']


def test_timer_needs_a_dict():
    with pytest.raises(AnsibleFilterError, match='checks_timer expects'):
        checks_timer(['systemd'])
