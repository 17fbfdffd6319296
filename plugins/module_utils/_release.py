# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Releases, the releases file and the deploy lock (private to tgops.runbooks).

The releases file is JSON lines, one event per line, oldest first::

    {"time": "2026-11-23T16:40:12Z", "action": "deploy", "release": "v1.1.0", "commit": "5d6e...",
     "from_release": "v1.0.0", "from_commit": "1a2b...", "operator": "alice", "result": "success"}

``history()`` replays it into a stack of deployed releases: a successful deploy pushes its release, a
successful rollback pops back to its target, so "previous" after a rollback is the release before that
one (like Capistrano's releases), never the release that was just rolled back from.

Everything here is pure (no I/O) so the decisions are unit tested; the modules do the reading and writing.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
from datetime import datetime, timezone

from ansible_collections.tgops.runbooks.plugins.module_utils._health import versions_match

ACTIONS = ('baseline', 'deploy', 'rollback')
RESULTS = ('success', 'failed', 'rolled_back')
REQUIRED_KEYS = ('time', 'action', 'release', 'commit', 'result')
TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'

_NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._+/-]*')
_COMMIT_RE = re.compile(r'[0-9a-f]{7,64}')
_AUDIT_UNSAFE = re.compile(r'[\s"\\]')
MAX_NAME = 128


def validate_release_name(name):
    """Why ``name`` cannot be a release (git tag, branch or commit), or None when it can.

    Stricter than git's check-ref-format: no leading ``-`` (it would read as an option to git), no
    whitespace, quotes or shell metacharacters, no ``..``, ``@{``, ``//``, trailing ``/``, ``.`` or ``.lock``."""
    if name is None or not str(name).strip():
        return 'the release name is empty'
    name = str(name)
    if len(name) > MAX_NAME:
        return 'the release name is longer than %d characters' % MAX_NAME
    if name.startswith('-'):
        return 'the release name %r starts with "-"' % name
    if not _NAME_RE.fullmatch(name):
        return ('the release name %r may contain only letters, digits and . _ + / - '
                '(and must start with a letter or digit)' % name)
    for bad in ('..', '@{', '//'):
        if bad in name:
            return 'the release name %r contains %r' % (name, bad)
    if name.endswith(('/', '.', '.lock')):
        return 'the release name %r ends with "/", "." or ".lock"' % name
    return None


def is_commit(value):
    return bool(value) and bool(_COMMIT_RE.fullmatch(str(value)))


def format_time(moment):
    return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)


def parse_time(text):
    """``2026-11-23T16:40:12Z`` as an aware datetime, or None."""
    try:
        return datetime.strptime(str(text), TIME_FORMAT).replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def parse_records(text):
    """(records, problems): every well-formed line of a releases file, and one sentence per bad line.

    A bad line (hand edit, truncated write) is skipped and named rather than failing the whole file:
    one broken line must not make a rollback impossible."""
    records, problems = [], []
    for number, line in enumerate((text or '').splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            problems.append('line %d is not JSON (%s)' % (number, exc))
            continue
        if not isinstance(record, dict):
            problems.append('line %d is not a JSON object' % number)
            continue
        missing = [k for k in REQUIRED_KEYS if not record.get(k)]
        if missing:
            problems.append('line %d lacks %s' % (number, ', '.join(missing)))
            continue
        if record['action'] not in ACTIONS or record['result'] not in RESULTS:
            problems.append('line %d has an unknown action or result (%s, %s)' % (
                number, record['action'], record['result']))
            continue
        if not is_commit(record['commit']):
            problems.append('line %d has an invalid commit %r' % (number, record['commit']))
            continue
        records.append(record)
    return records, problems


def dump_records(records):
    return ''.join(json.dumps(r, sort_keys=True, separators=(', ', ': ')) + '\n' for r in records)


def history(records):
    """The stack of deployed releases (oldest first), replayed from the records.

    Only successful events count. A deploy of the release on top changes nothing; a rollback pops the
    stack down to its target, or pushes the target when it is not on the stack (trimmed history)."""
    stack = []
    for record in records:
        if record.get('result') != 'success':
            continue
        entry = {k: record.get(k) for k in ('release', 'commit', 'time', 'action', 'operator')}
        if record['action'] in ('deploy', 'baseline'):
            if stack and stack[-1]['commit'] == record['commit']:
                stack[-1] = entry
            else:
                stack.append(entry)
        elif record['action'] == 'rollback':
            index = None
            for i in range(len(stack) - 1, -1, -1):
                if stack[i]['commit'] == record['commit']:
                    index = i
                    break
            if index is None:
                stack.append(entry)
            else:
                del stack[index + 1:]
    return stack


def find_in_history(stack, release, commit=None):
    """The newest stack entry whose release name (or commit) is ``release`` / ``commit``."""
    for entry in reversed(stack):
        if entry['release'] == release or (commit and entry['commit'] == commit):
            return entry
    return None


def rollback_default(stack, head_commit, records=()):
    """(entry, why): where a rollback goes when no release is named.

    The top of the stack is the last release that deployed successfully, and normally a rollback goes one below it.
    Two states mean the host is not on that top release as the history says: the newest record is a deploy that
    failed outright (its automatic rollback failed too), or the checkout is at another commit (that failure, or a
    hand checkout). Then the release to go back to is the top itself - the one that ran before - not the one
    below it (the runbook: "if automatic rollback failed: ./rollback.sh <previous-version>")."""
    if not stack:
        return None, ''
    top = stack[-1]
    newest = records[-1] if records else {}
    if newest.get('action') == 'deploy' and newest.get('result') == 'failed':
        return top, ('the last deploy, of %s, failed and so did its automatic rollback: going back to %s, the release '
                     'that ran before it' % (newest.get('release'), describe(top)))
    if head_commit and head_commit != top['commit']:
        return top, ('the checkout (%s) is not the last release recorded as deployed: going back to %s, the release '
                     'that ran before' % (short(head_commit), describe(top)))
    if len(stack) > 1:
        return stack[-2], ''
    return None, ''


def last_deploy(records):
    """The newest deploy record, whatever its result (the history keeps only the successful ones)."""
    for record in reversed(records):
        if record.get('action') == 'deploy':
            return record
    return None


def read_tail(path, lines, limit=1048576):
    """(lines, exists): the last ``lines`` lines of a text file, reading at most ``limit`` bytes from its end."""
    try:
        with open(path, 'rb') as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            data = handle.read(limit)
    except FileNotFoundError:
        return [], False
    text = data.decode('utf-8', 'replace').splitlines()
    if size > limit and text:
        text = text[1:]  # the first line read is cut
    return (text[-lines:] if lines > 0 else []), True


def plan_deploy(target, current, head_commit, running_healthy, running_version, expected_version):
    """(deploy_needed, reason). A deploy is a no-op only when the target is recorded as current, checked
    out, and the running service is healthy and (when the release names a version) serves it."""
    if current is None or current.get('commit') != target['commit']:
        return True, 'the current release is %s, not %s' % (
            describe(current) if current else 'unknown', describe(target))
    if head_commit != target['commit']:
        return True, 'the checkout is at %s, not at %s' % (short(head_commit), short(target['commit']))
    if not running_healthy:
        return True, 'the service is not healthy'
    if expected_version and not versions_match(expected_version, running_version):
        return True, 'the service reports version %s, not %s' % (running_version, expected_version)
    return False, '%s is already deployed, checked out and healthy' % describe(target)


def local_changes(porcelain):
    """Paths of tracked files with uncommitted changes (staged or not), from ``git status --porcelain=v1 -z
    --untracked-files=no``: what ``git checkout --force`` would throw away. A rename or copy names both paths."""
    paths = []
    entries = porcelain.split('\0')
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4 or entry[2] != ' ':
            continue
        paths.append(entry[3:])
        if 'R' in entry[:2] or 'C' in entry[:2]:
            # -z: the source path follows as the next entry
            if index < len(entries) and entries[index]:
                paths.append(entries[index])
            index += 1
    return sorted(set(paths))


def short(commit):
    return (commit or '')[:12] or 'nothing'


def describe(entry):
    if not entry:
        return 'nothing'
    release, commit = entry.get('release'), entry.get('commit') or ''
    if release and release != commit and not commit.startswith(release):
        return '%s (%s)' % (release, short(commit))
    return short(commit)


def version_from_tags(release, tags):
    """The version /health should report for a release: the release itself when it is one of the tags
    pointing at its commit (``v1.1.0``), else the only version-like tag there, else None (a bare commit
    or branch names no version)."""
    if release in tags:
        return release
    versions = [t for t in tags if re.match(r'^v?\d+(\.\d+)*', t)]
    if len(versions) == 1:
        return versions[0]
    return None


def audit_value(value):
    """One token of an audit line: no spaces, quotes or newlines (a log line is split on spaces)."""
    text = '-' if value is None or value == '' else str(value)
    return _AUDIT_UNSAFE.sub('_', text)


def audit_line(record):
    """The deployment log line the runbooks read with ``tail -50``:

    ``2026-11-23T16:40:12Z deploy result=success operator=alice from=v1.0.0@1a2b3c4d5e6f to=v1.1.0@5d6e...``
    followed by ``msg="..."`` when there is a message."""
    def ref(release, commit):
        if not release and not commit:
            return '-'
        if release and commit and release != commit:
            return '%s@%s' % (audit_value(release), short(commit))
        return audit_value(release or short(commit))

    line = '%s %s result=%s operator=%s from=%s to=%s' % (
        record['time'], record['action'], record['result'], audit_value(record.get('operator')),
        ref(record.get('from_release'), record.get('from_commit')),
        ref(record.get('release'), record.get('commit')))
    if record.get('message'):
        line += ' msg=%s' % json.dumps(str(record['message'])[:500])
    return line + '\n'


# The keys that name one lock holder: a "dead holder" verdict is acted on only while the lock still holds it.
HOLDER_KEYS = ('owner', 'controller', 'pid', 'process', 'time')


def same_holder(record, other):
    """True when ``record`` is the holder ``other`` describes (both name a controller process)."""
    if not record or not other or not record.get('controller') or not record.get('pid'):
        return False
    return all(record.get(key) == other.get(key) for key in HOLDER_KEYS)


def lock_decision(existing, token=None, break_lock=False, dead_holder=None):
    """What to do with a lock file that holds ``existing`` (parsed dict, or None when unreadable).

    Returns ``reentrant`` (it is ours), ``dead`` (the controller proved its holder gone: take it over),
    ``break`` (held, but the operator asked to break it) or ``held`` (refuse). Age alone never frees a
    lock: a long restore or a paused run still holds it, and a holder on another controller cannot be
    checked from here."""
    if existing and token and existing.get('token') == token:
        return 'reentrant'
    if dead_holder and same_holder(existing, dead_holder):
        return 'dead'
    if break_lock:
        return 'break'
    return 'held'


def lock_is_old(existing, now, ttl):
    """True when the lock is older than ``ttl`` seconds or cannot be dated (likely left by a killed run)."""
    since = parse_time((existing or {}).get('time'))
    return since is None or (now - since).total_seconds() > ttl


def split_process(text):
    """``<boot id>/<pid namespace>/<start ticks>`` as a (boot, namespace, start) tuple of strings or Nones."""
    parts = str(text or '').split('/')
    parts += [''] * (3 - len(parts))
    return tuple(part or None for part in parts[:3])


def holder_state(record, controller, process_of, here):
    """Whether the process holding a lock is alive, judged on the controller this run is on.

    ``controller`` is this controller's host name, ``here`` this controller's ``process`` identity (boot id
    and pid namespace; start ticks ignored), ``process_of(pid)`` the identity of a local pid (None when no
    such process, '' when it exists but cannot be identified). Returns (state, reason), state one of
    ``dead`` (provably gone: same controller and pid namespace, and the pid is gone, reused by a process
    started at another time, or the machine has rebooted since), ``alive``, ``foreign`` (another controller
    or namespace: cannot be checked from here) or ``unknown`` (the lock names no process)."""
    if not record or not record.get('controller') or not isinstance(record.get('pid'), int) or record['pid'] < 1 \
            or isinstance(record['pid'], bool):
        return 'unknown', 'the lock names no controller process, so nothing can prove its holder gone'
    pid, where = record['pid'], record['controller']
    if where != controller:
        return 'foreign', ('it was taken from controller %s, not this one (%s): its process cannot be checked '
                           'from here' % (where, controller))
    boot, namespace, start = split_process(record.get('process'))
    here_boot, here_namespace, dummy = split_process(here)
    if boot and here_boot and boot != here_boot:
        return 'dead', 'controller %s has rebooted since pid %s took the lock' % (where, pid)
    if namespace and here_namespace and namespace != here_namespace:
        return 'foreign', ('it was taken from another pid namespace (container) on %s: pid %s cannot be checked '
                           'from here' % (where, pid))
    if (namespace or here_namespace) and namespace != here_namespace:
        # One side has no namespace to compare (another OS, no /proc): the pid may not be comparable.
        return 'foreign', 'pid %s on %s cannot be identified from here' % (pid, where)
    current = process_of(pid)
    if current is None:
        return 'dead', 'pid %s is gone on controller %s' % (pid, where)
    dummy, dummy, current_start = split_process(current)
    if start and current_start and start != current_start:
        return 'dead', 'pid %s on controller %s is now another process (it started later than the lock)' % (pid, where)
    return 'alive', 'pid %s is still running on controller %s' % (pid, where)


def describe_lock(existing, now):
    """``alice (controller ops1, pid 4242, deploy v1.1.0) since 2026-11-23T16:40:12Z (42 s ago)``"""
    if not existing:
        return 'an unreadable lock file'
    details = []
    if existing.get('controller'):
        details.append('controller %s' % existing['controller'])
    if existing.get('pid'):
        details.append('pid %s' % existing['pid'])
    if existing.get('operation'):
        details.append(str(existing['operation']))
    elif existing.get('release'):
        details.append('deploying %s' % existing['release'])
    text = str(existing.get('owner') or 'unknown owner')
    if details:
        text += ' (%s)' % ', '.join(details)
    since = parse_time(existing.get('time'))
    if since is not None:
        text += ' since %s (%d s ago)' % (existing['time'], max(0, int((now - since).total_seconds())))
    return text


def releases_file_argument_spec():
    """The option every release module shares; documented by the ``tgops.runbooks._release`` fragment."""
    return dict(path=dict(type='path', required=True))


def read_releases_file(module, path):
    """(text, exists) of the releases file; fails the module with a clear message when unreadable."""
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace'), True
    except FileNotFoundError:
        return '', False
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot read the releases file %s: %s' % (path, exc))
    return '', False
