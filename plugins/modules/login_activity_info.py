#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: login_activity_info
short_description: Read a host's recent logins, failed attempts and open SSH sessions as evidence
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - The evidence step of the toogoodtogo runbook's "Server Compromise Suspected" (C(cat /var/log/auth.log | tail -100)),
    read as data in one call - the newest authentication log entries, the SSH logins in them (accepted, failed,
    invalid users), sudo use, and the SSH sessions open now.
  - An sshd line is read only when it is sshd's whole sentence; the user name (the attacker's choice, which may hold
    spaces and a fake C(from 127.0.0.1 port 1 ssh2)) cannot move a login to another source - the source is the last
    address sshd wrote.
  - The authentication log is the first of O(path) that exists (rsyslog's C(auth.log), or C(secure)), else the
    systemd journal's C(auth) and C(authpriv) facilities (what rsyslog writes to C(auth.log)) when systemd runs the
    host. A host with neither is a finding - its login history cannot be reviewed there.
  - Open sessions come from the process table (the C(sshd) processes titled C(user@tty) and the C(SSH_CONNECTION)
    of their children), so they are seen without utmp. The session this module runs in is marked RV(sessions[].current).
  - Findings are what an on-call engineer must look at - a source with at least O(failed_threshold) failed
    attempts, an accepted login or an open session from a source outside O(known_sources), a missing log.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
options:
  source:
    description:
      - Where to read the authentication log - V(auto) (the first file of O(path) that exists, else the journal),
        V(file) or V(journal) only.
    type: str
    choices: [auto, file, journal]
    default: auto
  path:
    description: Authentication log files to look for, in order (rotated files are not read).
    type: list
    elements: path
    default: [/var/log/auth.log, /var/log/secure]
  lines:
    description: How many of the newest log entries are read and judged.
    type: int
    default: 1000
  max_entries:
    description: How many of the newest entries are returned in RV(entries) (the runbook's C(tail -100)).
    type: int
    default: 100
  known_sources:
    description:
      - Addresses and networks (V(203.0.113.7), V(10.0.0.0/8)) the team logs in from - a bastion, a VPN, the
        controller. Accepted logins and open sessions from anywhere else are findings.
      - Empty makes every accepted login and every open session a finding to review.
    type: list
    elements: str
    default: []
  failed_threshold:
    description: Failed attempts (failed passwords or keys, invalid users) from one source that make a finding.
    type: int
    default: 5
  redact:
    description: Secret values to mask in everything returned (a password typed as a user name lands in the log).
    type: list
    elements: str
    default: []
  fail_on_problem:
    description: Fail the task when RV(passed) is V(false); the message lists the findings.
    type: bool
    default: false
notes:
  - Run it as root (C(become)) - the log, the journal and other users' processes are readable by root only.
seealso:
  - module: tgops.runbooks.network_info
"""

EXAMPLES = r"""
- name: Who logged in, who tried, who is on the host now?
  tgops.runbooks.login_activity_info:
    known_sources: [198.51.100.10, 10.8.0.0/16]
    redact: ["{{ platform_db_password }}"]
  register: logins

- name: Show the findings
  ansible.builtin.debug:
    var: logins.findings
"""

RETURN = r"""
log:
  description: Where the entries were read - a file path, V(journal), or null when the host has no authentication log.
  returned: always
  type: str
  sample: /var/log/auth.log
entries:
  description: The newest O(max_entries) entries, oldest first (redacted).
  returned: always
  type: list
  elements: dict
  contains:
    time:
      description: When (ISO 8601; a classic syslog time is read as the host's local time, this year).
      type: str
    program:
      description: The program that logged it (C(sshd), C(sudo)).
      type: str
    pid:
      description: Its process ID; null when not logged.
      type: int
    message:
      description: The message.
      type: str
  sample: [{time: "2026-12-06T19:02:11+00:00", program: sshd, pid: 812,
            message: "Accepted publickey for root from 203.0.113.9 port 50122 ssh2: ED25519 SHA256:..."}]
logins:
  description: The SSH login events among the entries read, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    time:
      description: When.
      type: str
    result:
      description: 'V(accepted), V(failed) or V(invalid_user).'
      type: str
    user:
      description: The user name given.
      type: str
    source:
      description: The client address.
      type: str
    method:
      description: 'C(publickey), C(password)...; null for an invalid user.'
      type: str
    known:
      description: Whether the source is in O(known_sources).
      type: bool
  sample: [{time: "2026-12-06T19:02:11+00:00", result: accepted, user: root, source: 203.0.113.9, method: publickey,
            known: false}]
failed_by_source:
  description: Failed attempts per source address among the entries read.
  returned: always
  type: dict
  sample: {"198.51.100.23": 41}
sudo:
  description: The sudo commands among the entries read (user, target user and command), oldest first.
  returned: always
  type: list
  elements: dict
  sample: [{time: "2026-12-06T19:05:00+00:00", user: deploy, as_user: root, command: /usr/bin/docker ps}]
sessions:
  description: The SSH sessions open now.
  returned: always
  type: list
  elements: dict
  contains:
    pid:
      description: The session's sshd process.
      type: int
    user:
      description: The user logged in.
      type: str
    tty:
      description: Its terminal, C(notty) for a command session (as Ansible opens).
      type: str
    source:
      description: The client address; null when no process of the session shows it.
      type: str
    started:
      description: When the session began (ISO 8601, UTC).
      type: str
    known:
      description: Whether the source is in O(known_sources).
      type: bool
    current:
      description: Whether this module runs inside it.
      type: bool
  sample: [{pid: 901, user: root, tty: notty, source: 127.0.0.1, started: "2026-12-06T19:04:58+00:00",
            known: true, current: true}]
findings:
  description: One sentence per thing to look at.
  returned: always
  type: list
  elements: str
  sample: ["41 failed login attempts from 198.51.100.23 (users: admin, root, ubuntu)"]
passed:
  description: V(true) when there is nothing in RV(findings) (the collection's verdict key).
  returned: always
  type: bool
"""

import datetime
import ipaddress
import json
import os
import re
import time

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import Redactor

# rsyslog's RFC 3339 time (Debian 12's default) and the classic BSD syslog time.
_RFC3339_LINE = re.compile(
    r'^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+\S+\s+'
    r'(?P<program>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?:\s?(?P<message>.*)$')
_BSD_LINE = re.compile(
    r'^(?P<time>[A-Z][a-z]{2}\s+\d{1,2}\s\d\d:\d\d:\d\d)\s+\S+\s+'
    r'(?P<program>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?:\s?(?P<message>.*)$')

# sshd's own words, anchored at both ends. The user name is the attacker's choice (spaces, "from", a whole fake
# "from 127.0.0.1 port 1 ssh2" tail): it is matched greedily, so the source is the last address sshd wrote, which
# only sshd writes; after it nothing but sshd's tail (the protocol, a key's type and fingerprint) may follow.
_SOURCE = r' from (?P<source>[0-9A-Za-z.:%_-]+) port \d+'
_KEY = r'(?:: [A-Z0-9-]+ \S+(?: ID .*)?)?'
_LOGIN_EVENTS = (
    ('accepted', re.compile(r'^Accepted (?P<method>\S+) for (?P<user>.+)' + _SOURCE + r' ssh2' + _KEY + r'$')),
    ('failed', re.compile(r'^Failed (?P<method>\S+) for (?:invalid user )?(?P<user>.*)' + _SOURCE + r' ssh2' + _KEY + r'$')),
    ('invalid_user', re.compile(r'^Invalid user (?P<user>.*) from (?P<source>[0-9A-Za-z.:%_-]+)(?: port \d+)?$')),
)
_SUDO = re.compile(r'^\s*(?P<user>\S+) : .*?USER=(?P<as_user>\S+) ; COMMAND=(?P<command>.*)$')
_SESSION = re.compile(r'^sshd(?:-session)?: (?P<user>[^@\s\[]+)@(?P<tty>\S+)')


def parse_line(line, now=None):
    """One authentication log line as ``{time, program, pid, message}``; None when it is not a syslog line."""
    line = line.rstrip('\n')
    match = _RFC3339_LINE.match(line)
    if match:
        stamp = match.group('time')
    else:
        match = _BSD_LINE.match(line)
        if not match:
            return None
        stamp = bsd_time(match.group('time'), now)
    pid = match.group('pid')
    return dict(time=stamp, program=match.group('program'), pid=int(pid) if pid else None,
                message=match.group('message'))


def bsd_time(text, now=None):
    """A classic syslog time (no year, local time) as ISO 8601: this year, or last year if that is in the future."""
    now = now if now is not None else time.time()
    this_year = time.localtime(now).tm_year
    for year in (this_year, this_year - 1):
        try:
            parsed = time.strptime('%d %s' % (year, ' '.join(text.split())), '%Y %b %d %H:%M:%S')
        except ValueError:
            return text
        stamp = time.mktime(parsed)
        if stamp <= now + 86400:
            break
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).isoformat()


def parse_journal(text):
    """``journalctl -o json`` lines as entries."""
    entries = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        message = record.get('MESSAGE')
        if isinstance(message, list):  # journald stores a non-UTF-8 message as bytes
            message = to_text(bytes(bytearray(message)), errors='surrogate_or_replace')
        if not isinstance(message, str):
            continue
        try:
            stamp = datetime.datetime.fromtimestamp(int(record['__REALTIME_TIMESTAMP']) / 1e6,
                                                    datetime.timezone.utc).isoformat()
        except (KeyError, ValueError):
            stamp = None
        pid = record.get('_PID') or record.get('SYSLOG_PID')
        entries.append(dict(time=stamp, program=record.get('SYSLOG_IDENTIFIER') or record.get('_COMM') or '?',
                            pid=int(pid) if pid and str(pid).isdigit() else None, message=message))
    return entries


def tail_lines(path, count, block=65536):
    """The last ``count`` lines of a file, read from its end (an auth log under attack is large)."""
    with open(path, 'rb') as handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        data = b''
        while position > 0 and data.count(b'\n') <= count:
            step = min(block, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    lines = to_text(data, errors='surrogate_or_replace').splitlines()
    if position > 0:
        lines = lines[1:]  # the first line read may be cut
    return lines[-count:] if count else []


class Sources(object):
    """Membership of an address in the known sources (addresses and networks)."""

    def __init__(self, specs):
        self.networks = [ipaddress.ip_network(to_text(spec).strip(), strict=False) for spec in specs]

    def __contains__(self, address):
        try:
            ip = ipaddress.ip_address(to_text(address))
        except ValueError:
            return False
        if getattr(ip, 'ipv4_mapped', None):
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self.networks)


def analyse(entries, known):
    """Login events, failed attempts per source and sudo commands from the entries."""
    logins, sudo, failed = [], [], {}
    users_tried = {}
    for entry in entries:
        if entry['program'] in ('sshd', 'sshd-session'):
            for result, pattern in _LOGIN_EVENTS:
                match = pattern.match(entry['message'])
                if not match:
                    continue
                source = match.group('source')
                logins.append(dict(time=entry['time'], result=result, user=match.group('user'), source=source,
                                   method=match.groupdict().get('method'), known=source in known))
                if result != 'accepted':
                    failed[source] = failed.get(source, 0) + 1
                    users_tried.setdefault(source, set()).add(match.group('user'))
                break
        elif entry['program'] == 'sudo':
            match = _SUDO.match(entry['message'])
            if match:
                sudo.append(dict(time=entry['time'], user=match.group('user'), as_user=match.group('as_user'),
                                 command=match.group('command').strip()))
    return logins, failed, users_tried, sudo


def findings_of(log, logins, failed, users_tried, sessions, threshold, known_given):
    """The sentences an on-call engineer must look at."""
    findings = []
    if log is None:
        findings.append('no authentication log on the host (no auth.log or secure file, no systemd journal): '
                        'its login history cannot be reviewed here - look at the provider console and the '
                        'central log store')
    for source in sorted(failed, key=lambda s: (-failed[s], s)):
        if failed[source] >= threshold:
            users = sorted(users_tried.get(source, ()))
            findings.append('%d failed login attempts from %s (users: %s%s)' % (
                failed[source], source, ', '.join(users[:5]), ', ...' if len(users) > 5 else ''))
    outside = 'outside the known sources' if known_given else 'to review (no known sources given)'
    # Accepted logins from unknown sources, one finding per (user, source, method) in order of first appearance.
    accepted = {}
    for login in logins:
        if login['result'] == 'accepted' and not login['known']:
            accepted.setdefault((login['user'], login['source'], login['method']), []).append(login['time'])
    for (user, source, method), times in accepted.items():
        findings.append('accepted %s login for %s from %s %s (%d time%s, last %s)' % (
            method, user, source, outside, len(times), '' if len(times) == 1 else 's', times[-1]))
    for session in sessions:
        if not session['known']:
            findings.append('open SSH session of %s on %s from %s %s (sshd pid %d, since %s)%s' % (
                session['user'], session['tty'], session['source'] or 'an unknown address', outside, session['pid'],
                session['started'], ' - this is the session running this check' if session['current'] else ''))
    return findings


def _read(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def read_processes(proc='/proc'):
    """``{pid: {ppid, cmdline, start}}`` of every process visible (start in clock ticks after boot)."""
    processes = {}
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        stat = _read(os.path.join(proc, name, 'stat'))
        cmdline = _read(os.path.join(proc, name, 'cmdline'))
        if stat is None or cmdline is None:
            continue  # gone meanwhile
        # the command name in parentheses may hold spaces and parentheses: split after the last ')'
        fields = to_text(stat).rsplit(')', 1)[-1].split()
        processes[int(name)] = dict(ppid=int(fields[1]), start=int(fields[19]),
                                    cmdline=to_text(cmdline.replace(b'\0', b' '), errors='surrogate_or_replace').strip())
    return processes


def ssh_connection(pid, proc='/proc'):
    """The client address of the SSH connection a process belongs to (its SSH_CONNECTION), or None."""
    environ = _read(os.path.join(proc, str(pid), 'environ'))
    for item in (environ or b'').split(b'\0'):
        if item.startswith(b'SSH_CONNECTION='):
            parts = to_text(item.split(b'=', 1)[1]).split()
            return parts[0] if parts else None
    return None


def find_sessions(processes, own_pid, boot_time, ticks, known, source_of=ssh_connection):
    """The open SSH sessions: each ``sshd: user@tty`` process, its client address (from a descendant), when."""
    children = {}
    for pid, info in processes.items():
        children.setdefault(info['ppid'], []).append(pid)
    ancestors = set()
    pid = own_pid
    while pid in processes and pid not in ancestors:
        ancestors.add(pid)
        pid = processes[pid]['ppid']
    sessions = []
    for pid in sorted(processes):
        match = _SESSION.match(processes[pid]['cmdline'])
        if not match:
            continue
        source, queue = None, list(children.get(pid, []))
        while queue and source is None:
            child = queue.pop(0)
            source = source_of(child)
            queue.extend(children.get(child, []))
        started = datetime.datetime.fromtimestamp(boot_time + processes[pid]['start'] / float(ticks),
                                                  datetime.timezone.utc).replace(microsecond=0).isoformat()
        sessions.append(dict(pid=pid, user=match.group('user'), tty=match.group('tty'), source=source,
                             started=started, known=source is not None and source in known,
                             current=pid in ancestors))
    return sessions


def boot_time(proc='/proc'):
    for line in to_text(_read(os.path.join(proc, 'stat')) or b'').splitlines():
        if line.startswith('btime '):
            return int(line.split()[1])
    return 0


def read_log(module, params):
    """``(log, entries)``: the newest ``lines`` entries of the first log found, or ``(None, [])``."""
    if params['source'] in ('auto', 'file'):
        for path in params['path']:
            if os.path.isfile(path):
                try:
                    lines = tail_lines(path, params['lines'])
                except (IOError, OSError) as exc:
                    module.fail_json(msg='cannot read %s: %s' % (path, to_text(exc)))
                return path, [entry for entry in (parse_line(line) for line in lines) if entry]
        if params['source'] == 'file':
            return None, []
    journalctl = module.get_bin_path('journalctl')
    if journalctl is None or not os.path.isdir('/run/systemd/system'):
        return None, []
    rc, out, err = module.run_command(
        [journalctl, '--facility=auth,authpriv', '-n', str(params['lines']), '-o', 'json', '--no-pager', '-q'],
        environ_update={'LC_ALL': 'C', 'SYSTEMD_PAGER': ''})
    if rc != 0:
        module.fail_json(msg='journalctl failed (rc=%d): %s' % (rc, to_text(err or out).strip()[:300]))
    return 'journal', parse_journal(to_text(out, errors='surrogate_or_replace'))


def main():
    module = new_module(
        argument_spec=dict(
            source=dict(type='str', default='auto', choices=['auto', 'file', 'journal']),
            path=dict(type='list', elements='path', default=['/var/log/auth.log', '/var/log/secure']),
            lines=dict(type='int', default=1000),
            max_entries=dict(type='int', default=100),
            known_sources=dict(type='list', elements='str', default=[]),
            failed_threshold=dict(type='int', default=5),
            redact=dict(type='list', elements='str', default=[], no_log=True),
            fail_on_problem=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for name, low in (('lines', 1), ('max_entries', 0), ('failed_threshold', 1)):
        if params[name] < low:
            module.fail_json(msg='%s must be at least %d' % (name, low))
    try:
        known = Sources(params['known_sources'])
    except ValueError as exc:
        module.fail_json(msg='known_sources: %s' % to_text(exc))
    redact = Redactor(params['redact'])

    log, entries = read_log(module, params)
    logins, failed, users_tried, sudo = analyse(entries, known)
    processes = read_processes()
    sessions = find_sessions(processes, os.getpid(), boot_time(), os.sysconf('SC_CLK_TCK'), known)
    findings = findings_of(log, logins, failed, users_tried, sessions, params['failed_threshold'],
                           bool(params['known_sources']))
    shown_entries = entries[-params['max_entries']:] if params['max_entries'] else []
    result = redact.redact_obj(dict(
        changed=False, log=log, entries=shown_entries, logins=logins, failed_by_source=failed, sudo=sudo,
        sessions=sessions, findings=findings, passed=not findings))
    if findings and params['fail_on_problem']:
        module.fail_json(msg='; '.join(result['findings']), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
