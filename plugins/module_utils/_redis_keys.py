# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure helpers of the redis_keys module: Redis glob matching, key quoting for redis-cli, batching.

``redis-cli --scan`` prints one key per line, so a key holding a newline arrives split in pieces. Every
key is matched again here with Redis's own glob rules before anything is deleted, so a piece of such a
key is never taken for another key that happens to match.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


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
