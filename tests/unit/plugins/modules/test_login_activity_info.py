"""modules/login_activity_info: auth log and journal read as login evidence, open sessions from /proc, findings."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import time

import pytest

from ansible_collections.tgops.runbooks.plugins.modules import login_activity_info as mod
from tgops_module_runner import run_module

AUTH_LOG = """\
2026-12-06T19:00:01.123456+00:00 srv sshd[700]: Accepted publickey for root from 10.8.0.5 port 50122 ssh2: ED25519 SHA256:x
2026-12-06T19:00:05.000000+00:00 srv sshd[701]: Invalid user admin from 198.51.100.23 port 40000
2026-12-06T19:00:05.100000+00:00 srv sshd[701]: Failed password for invalid user admin from 198.51.100.23 port 40000 ssh2
2026-12-06T19:00:06.000000+00:00 srv sshd[702]: Failed password for root from 198.51.100.23 port 40002 ssh2
2026-12-06T19:00:07.000000+00:00 srv sshd[703]: Failed password for ubuntu from 198.51.100.23 port 40004 ssh2
2026-12-06T19:01:00.000000+00:00 srv sshd[710]: Accepted password for deploy from 203.0.113.9 port 51000 ssh2
2026-12-06T19:01:30.000000+00:00 srv sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/cat /opt/app/.env
Dec  6 19:02:00 srv sshd[711]: Failed password for invalid user hunter2-s3cret from 192.0.2.1 port 1 ssh2
this line is not syslog
"""


def test_parse_line_reads_both_syslog_time_formats():
    rfc = mod.parse_line(AUTH_LOG.splitlines()[0])
    assert rfc == dict(time='2026-12-06T19:00:01.123456+00:00', program='sshd', pid=700,
                       message='Accepted publickey for root from 10.8.0.5 port 50122 ssh2: ED25519 SHA256:x')
    now = time.mktime(time.strptime('2026-12-07 00:00:00', '%Y-%m-%d %H:%M:%S'))
    bsd = mod.parse_line(AUTH_LOG.splitlines()[7], now=now)
    assert bsd['program'] == 'sshd' and bsd['pid'] == 711 and bsd['time'].startswith('2026-12-0')
    assert mod.parse_line('this line is not syslog') is None


def test_bsd_time_in_the_future_is_last_year():
    now = time.mktime(time.strptime('2026-01-02 00:00:00', '%Y-%m-%d %H:%M:%S'))
    assert mod.bsd_time('Dec 31 23:00:00', now).startswith('2025-12-31') or mod.bsd_time('Dec 31 23:00:00', now).startswith('2026-01-01')
    assert mod.bsd_time('Jan  1 10:00:00', now)[:4] == '2026'


def test_analyse_counts_failures_per_source_and_marks_known_sources():
    entries = [e for e in (mod.parse_line(line) for line in AUTH_LOG.splitlines()) if e]
    known = mod.Sources(['10.8.0.0/16'])
    logins, failed, users, sudo = mod.analyse(entries, known)
    assert [(x['result'], x['user'], x['source'], x['known']) for x in logins] == [
        ('accepted', 'root', '10.8.0.5', True),
        ('invalid_user', 'admin', '198.51.100.23', False),
        ('failed', 'admin', '198.51.100.23', False),
        ('failed', 'root', '198.51.100.23', False),
        ('failed', 'ubuntu', '198.51.100.23', False),
        ('accepted', 'deploy', '203.0.113.9', False),
        ('failed', 'hunter2-s3cret', '192.0.2.1', False),
    ]
    assert failed == {'198.51.100.23': 4, '192.0.2.1': 1}
    assert users['198.51.100.23'] == {'admin', 'root', 'ubuntu'}
    assert sudo == [dict(time='2026-12-06T19:01:30.000000+00:00', user='deploy', as_user='root', command='/usr/bin/cat /opt/app/.env')]


def test_findings_name_brute_force_unknown_logins_and_a_missing_log():
    entries = [e for e in (mod.parse_line(line) for line in AUTH_LOG.splitlines()) if e]
    known = mod.Sources(['10.8.0.0/16'])
    logins, failed, users, _sudo = mod.analyse(entries, known)
    findings = mod.findings_of('/var/log/auth.log', logins, failed, users, [], 3, True)
    assert findings == [
        '4 failed login attempts from 198.51.100.23 (users: admin, root, ubuntu)',
        'accepted password login for deploy from 203.0.113.9 outside the known sources (1 time, last '
        '2026-12-06T19:01:00.000000+00:00)',
    ]
    assert mod.findings_of(None, [], {}, {}, [], 3, True)[0].startswith('no authentication log on the host')
    # the last accepted time, not a later failure of the same user from the same source
    later_failure = logins + [dict(time='2026-12-06T20:00:00+00:00', result='failed', user='deploy',
                                   source='203.0.113.9', method='password', known=False)]
    assert mod.findings_of('journal', later_failure, {}, {}, [], 3, True) == [findings[1]]
    # below the threshold, from a known network: nothing to look at
    assert mod.findings_of('journal', logins[:1], {'198.51.100.23': 2}, users, [], 3, True) == []


def test_sources_accepts_addresses_networks_and_mapped_ipv6():
    known = mod.Sources(['127.0.0.1', '10.0.0.0/8', '2001:db8::/32'])
    assert '127.0.0.1' in known and '10.1.2.3' in known and '::ffff:10.1.2.3' in known and '2001:db8::1' in known
    assert '127.0.0.2' not in known and 'not-an-ip' not in known
    with pytest.raises(ValueError):
        mod.Sources(['10.0.0.0/33'])


def test_parse_journal_reads_json_lines_and_binary_messages():
    lines = [
        json.dumps({'__REALTIME_TIMESTAMP': '1765047601000000', 'SYSLOG_IDENTIFIER': 'sshd', '_PID': '812',
                    'MESSAGE': 'Accepted publickey for root from 127.0.0.1 port 5 ssh2'}),
        json.dumps({'__REALTIME_TIMESTAMP': '1765047602000000', 'SYSLOG_IDENTIFIER': 'sshd', '_PID': '813',
                    'MESSAGE': list(b'Invalid user \xff from 192.0.2.9 port 7')}),
        'not json',
    ]
    entries = mod.parse_journal('\n'.join(lines))
    assert entries[0] == dict(time='2025-12-06T19:00:01+00:00', program='sshd', pid=812,
                              message='Accepted publickey for root from 127.0.0.1 port 5 ssh2')
    assert entries[1]['message'].startswith('Invalid user ') and len(entries) == 2


def test_tail_lines_reads_only_the_end_of_a_large_log(tmp_path):
    log = tmp_path / 'auth.log'
    log.write_text(''.join('line %d\n' % i for i in range(20000)))
    assert mod.tail_lines(str(log), 3, block=100) == ['line 19997', 'line 19998', 'line 19999']
    assert mod.tail_lines(str(log), 0) == []
    short = tmp_path / 'short.log'
    short.write_text('a\nb\n')
    assert mod.tail_lines(str(short), 10) == ['a', 'b']


def test_find_sessions_from_the_process_table():
    processes = {
        1: dict(ppid=0, start=0, cmdline='/usr/sbin/sshd -D'),
        50: dict(ppid=1, start=100, cmdline='sshd: root [priv]'),
        51: dict(ppid=50, start=100, cmdline='sshd: root@notty'),
        52: dict(ppid=51, start=101, cmdline='/bin/sh -c python3'),
        53: dict(ppid=52, start=102, cmdline='python3'),
        60: dict(ppid=1, start=200, cmdline='sshd: mallory [priv]'),
        61: dict(ppid=60, start=200, cmdline='sshd: mallory@pts/1'),
        62: dict(ppid=61, start=201, cmdline='-bash'),
    }
    addresses = {52: '127.0.0.1', 62: '198.51.100.23'}
    sessions = mod.find_sessions(processes, 53, 1765000000, 100, mod.Sources(['127.0.0.1']),
                                 source_of=addresses.get)
    assert sessions == [
        dict(pid=51, user='root', tty='notty', source='127.0.0.1', started='2025-12-06T05:46:41+00:00',
             known=True, current=True),
        dict(pid=61, user='mallory', tty='pts/1', source='198.51.100.23', started='2025-12-06T05:46:42+00:00',
             known=False, current=False),
    ]
    findings = mod.findings_of('journal', [], {}, {}, sessions, 5, True)
    assert findings == ['open SSH session of mallory on pts/1 from 198.51.100.23 outside the known sources '
                        '(sshd pid 61, since 2025-12-06T05:46:42+00:00)']


def test_module_reads_the_file_redacts_and_fails_only_when_asked(tmp_path):
    log = tmp_path / 'auth.log'
    log.write_text(AUTH_LOG)
    args = dict(path=[str(tmp_path / 'missing.log'), str(log)], known_sources=['10.8.0.0/16', '127.0.0.1', '::1'],
                failed_threshold=3, max_entries=2, redact=['hunter2-s3cret'])
    result = run_module(mod, args)
    assert result['log'] == str(log) and not result.get('failed')
    assert len(result['entries']) == 2 and len(result['logins']) == 7
    assert 'hunter2-s3cret' not in json.dumps(result)
    assert result['failed_by_source'] == {'198.51.100.23': 4, '192.0.2.1': 1}
    assert result['passed'] is False and result['findings'][0].startswith('4 failed login attempts from 198.51.100.23')
    failed = run_module(mod, dict(args, fail_on_problem=True))
    assert failed['failed'] and '4 failed login attempts' in failed['msg'] and 'hunter2-s3cret' not in failed['msg']


def test_module_without_any_log_says_so(tmp_path):
    result = run_module(mod, dict(source='file', path=[str(tmp_path / 'none.log')]))
    assert result['log'] is None and result['entries'] == []
    assert result['findings'][0].startswith('no authentication log on the host')


def test_module_reads_the_journal_when_systemd_runs_the_host(monkeypatch):
    calls = []

    def run_command(argv, environ_update=None, **kwargs):
        calls.append(argv)
        return 0, json.dumps({'__REALTIME_TIMESTAMP': '1765047601000000', 'SYSLOG_IDENTIFIER': 'sshd',
                              'MESSAGE': 'Accepted publickey for root from 127.0.0.1 port 5 ssh2'}), ''

    real_isdir = os.path.isdir
    monkeypatch.setattr(os.path, 'isdir', lambda p: True if p == '/run/systemd/system' else real_isdir(p))
    result = run_module(mod, dict(source='journal', known_sources=['127.0.0.0/8']), run_command=run_command,
                        bin_paths={'journalctl': '/usr/bin/journalctl'})
    assert calls[0][:2] == ['/usr/bin/journalctl', '--facility=auth,authpriv'] and '-n' in calls[0]
    assert result['log'] == 'journal' and result['logins'][0]['known'] is True


def test_module_refuses_bad_input():
    assert 'known_sources' in run_module(mod, dict(known_sources=['10.0.0.0/33']))['msg']
    assert 'lines must be at least 1' in run_module(mod, dict(lines=0))['msg']
