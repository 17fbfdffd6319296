# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure helpers of the redis_keys and redis_memory_info modules: Redis glob matching, key quoting for
redis-cli, batching; INFO parsing and the memory verdict.

``redis-cli --scan`` prints one key per line, so a key holding a newline arrives split in pieces. Every
key is matched again here with Redis's own glob rules before anything is deleted, so a piece of such a
key is never taken for another key that happens to match.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tgops.runbooks.plugins.module_utils._compose import ps_argv


def _class_end(pattern, i):
    """Index just past a [...] class starting at i (i at '['), or -1 when it never closes."""
    j = i + 1
    if j < len(pattern) and pattern[j] == '^':
        j += 1
    while j < len(pattern):
        if pattern[j] == '\\' and j + 1 < len(pattern):
            j += 2
            continue
        if pattern[j] == ']':
            return j + 1
        j += 1
    return -1


def _class_match(cls, ch):
    """``cls`` is the inside of [...] (without brackets)."""
    negate = cls.startswith('^')
    if negate:
        cls = cls[1:]
    found, i = False, 0
    while i < len(cls):
        if cls[i] == '\\' and i + 1 < len(cls):
            if cls[i + 1] == ch:
                found = True
            i += 2
        elif i + 2 < len(cls) and cls[i + 1] == '-':
            lo, hi = sorted((cls[i], cls[i + 2]))
            if lo <= ch <= hi:
                found = True
            i += 3
        else:
            if cls[i] == ch:
                found = True
            i += 1
    return found != negate


def glob_match(pattern, key):
    """Redis glob semantics (``*``, ``?``, ``[abc]``, ``[^a]``, ``[a-z]``, ``\\x`` escapes), iteratively."""
    p = k = 0
    star_p = star_k = -1
    while k < len(key):
        if p < len(pattern):
            c = pattern[p]
            if c == '*':
                star_p, star_k = p, k
                p += 1
                continue
            if c == '?':
                p += 1
                k += 1
                continue
            if c == '[':
                end = _class_end(pattern, p)
                if end != -1:
                    if _class_match(pattern[p + 1:end - 1], key[k]):
                        p, k = end, k + 1
                        continue
                elif key[k] == '[':
                    p += 1
                    k += 1
                    continue
            elif c == '\\' and p + 1 < len(pattern):
                if pattern[p + 1] == key[k]:
                    p += 2
                    k += 1
                    continue
            elif c == key[k]:
                p += 1
                k += 1
                continue
        if star_p != -1:
            p, k = star_p + 1, star_k + 1
            star_k += 1
            continue
        return False
    while p < len(pattern) and pattern[p] == '*':
        p += 1
    return p == len(pattern)


def quote(key):
    """A key as one double-quoted redis-cli argument (the syntax redis-cli reads on standard input)."""
    out = ['"']
    for ch in key:
        code = ord(ch)
        if ch in '"\\':
            out.append('\\' + ch)
        elif 32 <= code < 127:
            out.append(ch)
        else:
            # non-ASCII: the key's bytes (UTF-8; undecodable bytes came in as surrogate escapes)
            out.extend('\\x%02x' % b for b in ch.encode('utf-8', 'surrogateescape'))
    out.append('"')
    return ''.join(out)


def scanned_keys(stdout, pattern):
    """Unique keys from ``redis-cli --scan`` output that really match ``pattern``; and the lines that do not."""
    keys, seen, stray = [], set(), []
    for line in stdout.split('\n'):
        if line == '':
            continue
        if not glob_match(pattern, line):
            stray.append(line)
        elif line not in seen:
            seen.add(line)
            keys.append(line)
    return keys, stray


def delete_script(keys, batch_size, command='UNLINK'):
    """redis-cli standard input deleting ``keys``, ``batch_size`` keys per command."""
    if batch_size < 1:
        raise ValueError('batch_size must be at least 1')
    lines = []
    for start in range(0, len(keys), batch_size):
        lines.append(command + ' ' + ' '.join(quote(k) for k in keys[start:start + batch_size]))
    return '\n'.join(lines) + ('\n' if lines else '')


def deleted_count(stdout):
    """Sum of the integer replies of the delete commands; None when a reply is not an integer."""
    total = 0
    for line in stdout.split('\n'):
        line = line.strip()
        if not line:
            continue
        if line.startswith('(integer) '):
            line = line[len('(integer) '):]
        if not line.isdigit():
            return None
        total += int(line)
    return total


def validate_pattern(pattern):
    """A reason to refuse a pattern, or None. An empty pattern or one that matches everything is refused:
    clearing everything is FLUSHALL's job, behind its own confirmation."""
    if not pattern or not pattern.strip():
        return 'pattern must not be empty'
    if all(c == '*' for c in pattern):
        return 'pattern %r matches every key: use flushall (with its own confirmation) to clear everything' % pattern
    if '\n' in pattern or '\r' in pattern:
        return 'pattern must be a single line'
    return None


def redis_argument_spec():
    """Options of the modules that run redis-cli in a compose project's container (doc fragment _redis)."""
    return dict(
        project=dict(type='str', required=True),
        service=dict(type='str', default='redis'),
        docker_cli=dict(type='path', default='docker'),
    )


def service_container_argv(params):
    """``docker ps`` listing the running containers of the Redis service (``_compose.ps_argv``: by compose labels,
    one-off containers left out by ``_compose.ps_ids``)."""
    return ps_argv(params['docker_cli'], params['project'], params['service'])


# Policies that evict keys at maxmemory; any other (noeviction) refuses writes with OOM.
_EVICTING = ('allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random',
             'volatile-ttl')


def parse_info(text):
    """``field:value`` lines of ``INFO`` (sections and comments skipped) as a dict of strings."""
    fields = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#') or ':' not in line:
            continue
        name, _sep, value = line.partition(':')
        fields[name] = value
    return fields


def _int_field(info, name, default=None):
    value = info.get(name)
    if value is None:
        if default is None:
            raise ValueError('%s is missing' % name)
        return default
    if not value.isdigit():
        raise ValueError('%s is not a count of bytes or keys: %r' % (name, value[:40]))
    return int(value)


def _mib(count):
    return '%.1f MiB' % (count / 1048576.0)


def memory_problems(info, max_percent, require_maxmemory=False):
    """Facts and verdict from parsed ``INFO memory``, ``stats`` and ``keyspace`` fields."""
    used = _int_field(info, 'used_memory')
    limit = _int_field(info, 'maxmemory', 0)
    policy = info.get('maxmemory_policy', 'noeviction')
    evicted = _int_field(info, 'evicted_keys', 0)
    keys = {}
    for name, value in info.items():
        if name.startswith('db') and name[2:].isdigit():
            for field in value.split(','):
                key, _sep, count = field.partition('=')
                if key == 'keys' and count.isdigit():
                    keys[name] = int(count)
    percent = round(used * 100.0 / limit, 1) if limit else None
    problems = []
    if limit and percent >= max_percent:
        if policy in _EVICTING:
            problems.append('Redis uses %s of its %s maxmemory (%s%%) with policy %s: it evicts keys (%d evicted '
                            'since start)' % (_mib(used), _mib(limit), percent, policy, evicted))
        else:
            problems.append('Redis uses %s of its %s maxmemory (%s%%) with policy %s: writes fail with OOM'
                            % (_mib(used), _mib(limit), percent, policy))
    if not limit and require_maxmemory:
        problems.append('Redis has no maxmemory (uses %s): it can grow until the host runs out of memory'
                        % _mib(used))
    return dict(used_memory=used, maxmemory=limit, maxmemory_policy=policy, percent=percent,
                evicted_keys=evicted, keys=keys, passed=not problems, findings=problems)
