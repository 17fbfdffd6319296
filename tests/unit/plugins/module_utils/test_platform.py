"""module_utils/_platform: the pure decisions behind platform_info."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections

from ansible_collections.tgops.runbooks.plugins.module_utils import _platform

THRESHOLDS = {'disk_warn_percent': 90, 'memory_warn_percent': 85, 'restart_count_warn': 3,
              'backup_max_age_hours': 26}


def doc(service, status='running', health='healthy', exit_code=0, restarts=0, oom=False, name=None):
    state = {'Status': status, 'ExitCode': exit_code, 'OOMKilled': oom}
    if health:
        state['Health'] = {'Status': health}
    return {'Name': '/' + (name or 'p-%s-1' % service), 'RestartCount': restarts, 'State': state,
            'Config': {'Labels': {'com.docker.compose.service': service}}}


def test_container_states_orders_by_expected_services_and_reports_missing():
    out = _platform.container_states([doc('redis'), doc('bot', 'exited', '', 137, oom=True)],
                                     ['postgres', 'redis', 'bot'])
    assert [e['service'] for e in out] == ['postgres', 'redis', 'bot']
    assert out[0]['state'] == 'missing' and out[0]['container'] == ''
    assert out[1]['container'] == 'p-redis-1' and out[1]['health'] == 'healthy'
    assert out[2]['exit_code'] == 137 and out[2]['oom_killed'] is True


def test_a_running_container_wins_over_a_leftover_exited_one():
    out = _platform.container_states([doc('bot', 'exited', name='old'), doc('bot', name='new')], ['bot'])
    assert out[0]['container'] == 'new' and out[0]['state'] == 'running'
    out = _platform.container_states([doc('bot', name='new'), doc('bot', 'exited', name='old')], ['bot'])
    assert out[0]['container'] == 'new'


def test_a_running_one_off_container_does_not_hide_an_exited_service():
    """``docker compose run bot ...`` (a migration, a shell) carries the service's label too: as a running
    container of the service it hid the exited service container. It is not the service (_compose.service_of)."""
    oneoff = doc('bot', name='p-bot-run-1a2b')
    oneoff['Config']['Labels']['com.docker.compose.oneoff'] = 'True'
    out = _platform.container_states([doc('bot', 'exited', '', 1, name='p-bot-1'), oneoff], ['bot'])
    assert out[0]['container'] == 'p-bot-1' and out[0]['state'] == 'exited'
    assert _platform.container_states([oneoff], ['bot'])[0]['state'] == 'missing'


def test_containers_of_other_projects_or_without_labels_are_ignored():
    stray = {'Name': '/x', 'State': {'Status': 'running'}, 'Config': {'Labels': {}}}
    out = _platform.container_states([stray, 'garbage', None], ['bot'])
    assert out[0]['state'] == 'missing'


def test_describe_service():
    assert _platform.describe_service(_platform.container_states([doc('bot')], ['bot'])[0]) is None
    exited = _platform.container_states([doc('bot', 'exited', '', 137, oom=True)], ['bot'])[0]
    assert _platform.describe_service(exited) == 'service bot is exited (exit code 137), killed by the kernel OOM killer'
    sick = _platform.container_states([doc('bot', health='unhealthy')], ['bot'])[0]
    assert _platform.describe_service(sick) == 'service bot is running but unhealthy'


def test_parse_meminfo_and_loadavg():
    mem = _platform.parse_meminfo('MemTotal: 2048000 kB\nMemFree: 100 kB\nMemAvailable: 512000 kB\n')
    assert mem == {'total_mb': 2000, 'available_mb': 500, 'used_percent': 75.0}
    assert _platform.parse_meminfo('') is None
    assert _platform.parse_meminfo('MemTotal: 0 kB\nMemAvailable: 0 kB') is None
    assert _platform.parse_loadavg('0.50 1.00 2.5 1/100 42') == {'1m': 0.5, '5m': 1.0, '15m': 2.5}
    assert _platform.parse_loadavg('garbage') is None


def test_disk_usage_counts_like_df():
    st = collections.namedtuple('st', 'f_blocks f_bfree f_bavail f_frsize f_files f_ffree')
    # 1000 blocks, 100 free of which 50 available to non-root: used 900 / (900 + 50)
    row = _platform.disk_usage('/data', '/', st(1000, 100, 50, 1048576, 100, 5))
    assert row['used_percent'] == round(900 * 100.0 / 950, 1)
    assert row['avail_mb'] == 50 and row['inodes_used_percent'] == 95.0


def test_env_report_names_only_and_empty_values():
    text = '# SECRET_KEY=commented\nexport TELEGRAM_BOT_TOKEN=123:abc\nPOSTGRES_PASSWORD=""\nJUNK LINE\n SECRET_KEY = x\n'
    report = _platform.env_report(text, ['TELEGRAM_BOT_TOKEN', 'POSTGRES_PASSWORD', 'SECRET_KEY', 'STRIPE_API_KEY'])
    assert report == {'present': ['POSTGRES_PASSWORD', 'SECRET_KEY', 'TELEGRAM_BOT_TOKEN'],
                      'missing': ['STRIPE_API_KEY'], 'empty': ['POSTGRES_PASSWORD']}
    assert '123:abc' not in repr(report)


def test_newest_backup():
    entries = [('toogoodtogo_1.sql.gz', 100.0, 10), ('toogoodtogo_2.sql.gz', 200.0, 20), ('other.txt', 300.0, 1)]
    out = _platform.newest_backup(entries, 'toogoodtogo_*.sql.gz', 1000.0)
    assert out == {'count': 2, 'newest': 'toogoodtogo_2.sql.gz', 'age_seconds': 800, 'size': 20}
    assert _platform.newest_backup([], '*', 0)['newest'] is None


def test_error_lines_keeps_the_last_matches_redacted():
    text = '\n'.join(['INFO ok', 'ERROR one token=SECRET', 'CRITICAL two', 'ERROR three'])
    lines, count = _platform.error_lines(text, ['ERROR', 'CRITICAL'], 2, lambda s: s.replace('SECRET', '***'))
    assert count == 3 and lines == ['CRITICAL two', 'ERROR three']
    lines, count = _platform.error_lines(text, ['ERROR'], 5, lambda s: s.replace('SECRET', '***'))
    assert lines == ['ERROR one token=***', 'ERROR three']


def test_parse_inspect_tolerates_garbage():
    assert _platform.parse_inspect('not json') == []
    assert _platform.parse_inspect('{"a": 1}') == []
    assert _platform.parse_inspect('[{"a": 1}]') == [{'a': 1}]


def healthy_facts():
    return {
        'services': _platform.container_states([doc('bot')], ['bot']),
        'database': {'checked': True, 'reachable': True}, 'redis': {'checked': True, 'reachable': True},
        'disk': [{'path': '/', 'mount': '/', 'used_percent': 10.0, 'avail_mb': 900, 'inodes_used_percent': 1.0}],
        'memory': {'used_percent': 20.0, 'available_mb': 1000},
        'env': {'file': '/e', 'exists': True, 'missing': [], 'empty': []},
        'backups': {'checked': False}, 'logs': {'checked': True, 'failures': [], 'error_count': 0, 'since': '30m'},
    }


def test_findings_on_a_healthy_host_are_empty():
    assert _platform.findings(healthy_facts(), THRESHOLDS) == []


def test_findings_name_every_problem():
    facts = healthy_facts()
    facts['unit'] = {'name': 'toogoodtogo', 'active_state': 'failed', 'sub_state': 'failed'}
    facts['services'] = _platform.container_states([doc('bot', 'exited', '', 1, restarts=5)], ['bot'])
    facts['database'] = {'checked': True, 'reachable': False, 'error': 'connection refused'}
    facts['redis'] = {'checked': True, 'reachable': False, 'error': ''}
    facts['disk'].append({'path': '/x', 'error': 'No such file or directory'})
    facts['disk'][0]['used_percent'] = 95.5
    facts['memory']['used_percent'] = 90.0
    facts['env'] = {'file': '/e', 'exists': True, 'missing': ['SECRET_KEY'], 'empty': ['STRIPE_API_KEY']}
    facts['backups'] = {'checked': True, 'dir': '/b', 'pattern': '*.gz', 'count': 1, 'newest': 'a.gz',
                        'age_seconds': 30 * 3600, 'error': ''}
    facts['logs'] = {'checked': True, 'failures': ['bot: engine down'], 'error_count': 4, 'since': '30m'}
    out = _platform.findings(facts, THRESHOLDS)
    assert out == [
        'systemd unit toogoodtogo is failed (failed)',
        'service bot is exited (exit code 1)',
        'service bot restarted 5 times',
        'database query failed: connection refused',
        'Redis PING failed: no answer',
        'disk / (/) is 95.5% full, 900 MB left',
        'disk usage of /x could not be read: No such file or directory',
        'memory is 90.0% used (1000 MB available)',
        'required environment variables missing from /e: SECRET_KEY',
        'required environment variables empty in /e: STRIPE_API_KEY',
        'newest backup a.gz is 30.0 h old (more than 26 h)',
        'logs could not be read: bot: engine down',
        '4 ERROR/CRITICAL line(s) in the logs of the last 30m',
    ]


def test_findings_missing_env_file_and_no_backup():
    facts = healthy_facts()
    facts['env'] = {'file': '/e', 'exists': False, 'missing': ['A'], 'empty': []}
    facts['backups'] = {'checked': True, 'dir': '/b', 'pattern': '*.gz', 'count': 0, 'error': ''}
    assert _platform.findings(facts, THRESHOLDS) == ['env file /e is missing', 'no backup matching *.gz in /b']


def test_env_names_read_values_as_compose_does():
    from ansible_collections.tgops.runbooks.plugins.module_utils._platform import env_names
    # one reader for the env file (_app_env.parse_env): an inline comment is no value, quotes are removed
    assert env_names("A= # set me\nB='x'\nexport C=\"\"\n# D=1\nE=v # note\n") == {
        'A': False, 'B': True, 'C': False, 'E': True}
