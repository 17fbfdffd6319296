# -*- coding: utf-8 -*-
# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Plain SQL dumps (private to tgops.runbooks): a scanner that follows psql's lexer (literals, quoted names,
dollar quoting, comments, COPY data) to find ``CREATE TABLE`` / ``COPY`` / ``INSERT`` statements, count COPY
rows, see the ``-- PostgreSQL database dump complete`` trailer and refuse any psql meta-command that is not
pg_dump's own; and ``vetted_sql()``, which hands a restore only bytes the scanner has judged. Nothing here
imports Ansible.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import itertools
import os
import random
import re
import string

from ansible_collections.tgops.runbooks.plugins.module_utils._backup_file import (
    BackupCheckError, CHUNK_SIZE, GZIP_MAGIC, PLAIN_TRAILER, Reader, check, open_regular,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_inflate import Budget, gunzip


# --- plain SQL ----------------------------------------------------------------------------------------------
# The plain-SQL scanner is a small lexer that follows psql's rules for what ends a statement: semicolons at
# parenthesis depth 0 outside string literals ('...', E'...' with backslash escapes), quoted identifiers
# ("..."), dollar-quoted bodies ($tag$...$tag$) and comments (-- and nested /* */). Only the first bytes of
# each statement are kept, and table names are read from them by hand (no regex alternation that could
# backtrack), so the cost is linear in the size of the dump whatever it contains.

_COPY_END = b'\\.\n'
_SQL, _SQUOTE, _DQUOTE, _DOLLAR_TAG, _DOLLAR, _LINE_COMMENT, _BLOCK_COMMENT, _COPY_LINE, _COPY = range(9)
# SQL text up to the next character that can change the lexer state; with standard_conforming_strings on, the
# second form also steps over plain '...' literals ('' inside is a quote) followed by something else than a
# quote in the buffer. A literal right after E or e (maybe an escape string) or at the end of the buffer is
# left to the slow path. Each loop is unrolled (a run, then a separator and a run, repeated): there are never
# two ways to match, so no backtracking.
# A backslash stops both: psql runs a meta-command wherever its lexer meets one outside literals (issue 17).
_RUN_TEXT = re.compile(br'[^-/\'"$;\\]*')
_RUN_TEXT_AND_LITERALS = re.compile(
    br'[^-/\'"$;\\]*(?:(?<![Ee])\'[^\']*(?:\'\'[^\']*)*\'(?=[^\'])[^-/\'"$;\\]*)*')
_LITERAL = re.compile(br"'[^']*(?:''[^']*)*'")
_PARENS = re.compile(br'[()]')
_SQUOTE_ESC_SPECIAL = re.compile(br'[\\\']')
_BLOCK_SPECIAL = re.compile(br'[/*]')
_NON_SPACE = re.compile(br'[^ \t\n\r\f\v]')
_TAG_RUN = re.compile(br'[A-Za-z0-9_\x80-\xff]*')
_WORD = re.compile(br'[A-Za-z]+')
_SPACE_RUN = re.compile(br'[ \t\n\r\f\v]*')
_BARE_IDENT = re.compile(br'[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*')
_FROM_STDIN = re.compile(br'\bFROM[ \t\n\r\f\v]+STDIN\b', re.I)
_SCS = re.compile(br'SET[ \t\n\r\f\v]+standard_conforming_strings[ \t\n\r\f\v]*(?:=|TO)[ \t\n\r\f\v]*\'?(on|off)\b',
                  re.I)
_CLIENT_ENCODING = re.compile(
    br'SET[ \t\n\r\f\v]+(?:(?:SESSION|LOCAL)[ \t\n\r\f\v]+)?(?:client_encoding[ \t\n\r\f\v]*(?:=|TO)|NAMES)'
    br'[ \t\n\r\f\v]*(\'[^\']*\'|[^ \t\n\r\f\v;]*)', re.I)
# Encodings in which no byte of a multi-byte character is ASCII (the server encodings, as PostgreSQL spells them
# after removing all but letters and digits, with their aliases). In SJIS, BIG5, GBK, UHC, GB18030 and JOHAB (client
# only) the second byte of a character can be a backslash, a quote or a semicolon, which psql then reads as part of
# the character and this lexer does not.
_SAFE_ENCODINGS = frozenset(
    ['sqlascii', 'utf8', 'unicode', 'eucjp', 'euccn', 'euckr', 'euctw', 'eucjis2004', 'muleinternal', 'koi8', 'koi8r',
     'koi8u', 'alt', 'win', 'default', 'iso88595', 'iso88596', 'iso88597', 'iso88598', 'win866', 'win874', 'cp866',
     'cp874', 'windows866', 'windows874', 'tcvn', 'tcvn5712', 'vscii', 'abc']
    + ['latin%d' % n for n in range(1, 11)] + ['iso8859%d' % n for n in (1, 2, 3, 4, 9, 10, 13, 14, 15, 16)]
    + ['%s%d' % (prefix, n) for prefix in ('win', 'cp', 'windows') for n in range(1250, 1259)])
_IDENT_BYTES = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$' + bytes(range(0x80, 0x100)))
_HEAD_MAX = 1024        # first bytes of a statement kept: enough for a keyword and a qualified name (<= 63 bytes each)
_TAIL_MAX = 256         # last bytes of a statement kept (outside strings): where COPY says FROM stdin
_TAG_MAX = 4096
_FEED_MIN = 256 * 1024  # the scanner works on buffers of at least this size (tiny gzip members are gathered)
_STATE_NAMES = {_SQUOTE: 'a string literal', _DQUOTE: 'a quoted identifier',
                _DOLLAR: 'a dollar-quoted string (function body)', _BLOCK_COMMENT: 'a /* */ comment'}
# psql meta-commands (issue 17). A restore feeds a plain dump to psql, which runs a backslash command wherever
# its lexer meets a backslash outside literals, quoted names, dollar quotes, comments and COPY data: \! runs a
# shell command, \o |cmd and \copy ... program too, \i reads a file, \connect goes to another database. The
# only ones a dump may hold are pg_dump's own, alone on their line in exactly pg_dump's form: a \restrict KEY /
# \unrestrict KEY pair (pg_dump 15.14, 16.10, 17.6 and later; KEY is alphanumeric), and with -C a \connect to
# the database the dump created before it (a plain name, a quoted one, or -reuse-previous=on "dbname='...'"
# preceded by \encoding SQL_ASCII), outside \restrict. Backquotes (a shell command in psql's arguments), psql
# variables and a second command on the line never match.
_META_LINE_MAX = 4096
_META_NAME = re.compile(br'[A-Za-z0-9_]+')
_RESTRICT_LINE = re.compile(br'\\(restrict|unrestrict) ([A-Za-z0-9]{1,256})[ \t]*\Z')
_ENCODING_LINE = re.compile(br'\\encoding SQL_ASCII[ \t]*\Z')
_CONNECT_LINE = re.compile(br'\\connect (?:([A-Za-z0-9_.]{1,63})|"((?:[^"\\`\n]|""){1,130})"'
                           br'|-reuse-previous=on "dbname=((?:[^"\\`\n]|""){1,200})")[ \t]*\Z')
_CONNSTR_DBNAME = re.compile(br"(?:'([^'\\]{1,63})'|([A-Za-z0-9_.]{1,63}))\Z")
_WHITESPACE = b' \t\r\f\v'


# backslashes _find_copy_end looks at with memchr before it leaves the search to bytes.find
_BACKSLASH_PROBES = 16


def _find_copy_end(buf, start):
    """``buf.find(_COPY_END, start)``, faster: bytes.find steps through a pattern that ends in a newline line by
    line (it was half of a plain scan's time), while a backslash is rare in COPY data and memchr finds it at
    memory speed. Data with many backslashes (\\N nulls, escapes) goes back to bytes.find after a few."""
    at = start
    for dummy in range(_BACKSLASH_PROBES):
        idx = buf.find(b'\\', at)
        if idx < 0:
            return -1
        if buf.startswith(b'.\n', idx + 1):
            return idx
        at = idx + 1
    return buf.find(_COPY_END, at)


def _meta_name(line):
    """The command psql reads at the start of ``line`` (which starts with the backslash), printable and short:
    a run of letters, digits and _ (\\connect, \\copy), or one other character (\\!, \\;); never its arguments."""
    match = _META_NAME.match(line, 1)
    name = match.group()[:20] if match is not None else line[1:2]
    return '\\' + ''.join(chr(c) if 0x21 <= c < 0x7f else '\\x%02x' % c for c in name)


def _connect_target(match):
    """The database name of a \\connect line pg_dump wrote (a _CONNECT_LINE match), or None."""
    bare, quoted, connstr = match.groups()
    if bare is not None:
        return bare.decode('ascii')
    if quoted is not None:
        return quoted.replace(b'""', b'"').decode('utf-8', 'replace')
    value = _CONNSTR_DBNAME.match(connstr.replace(b'""', b'"'))
    if value is None:
        return None
    return (value.group(1) or value.group(2)).decode('utf-8', 'replace')


def _parse_name(text, pos):
    """A possibly qualified name at ``text[pos:]``: (list of unquoted parts, end) or (None, pos).

    Quoted parts keep their case and may hold dots and doubled quotes; bare parts are folded to lower case
    (ASCII), as PostgreSQL does. A hand-written loop: linear in the length of ``text``."""
    parts = []
    end = len(text)
    while True:
        if pos < end and text[pos] == 0x22:  # '"'
            pieces = []
            scan = pos + 1
            while True:
                close = text.find(b'"', scan)
                if close < 0:
                    return None, pos
                pieces.append(text[scan:close])
                if text[close + 1:close + 2] == b'"':
                    pieces.append(b'"')
                    scan = close + 2
                    continue
                pos = close + 1
                break
            part = b''.join(pieces)
            if not part:
                return None, pos
        else:
            match = _BARE_IDENT.match(text, pos)
            if match is None:
                return None, pos
            part = match.group().lower()
            pos = match.end()
        parts.append(part.decode('utf-8', 'replace'))
        if len(parts) > 3:
            return None, pos
        if text[pos:pos + 1] != b'.':
            break
        pos += 1
    # the name must be followed by something that ends it (and must not run into the end of a cut head)
    if pos >= end or text[pos] not in b' \t\n\r\f\v(;':
        return None, pos
    return parts, pos


def _parse_head(head):
    """What a statement is, from its first bytes: ('copy'|'create'|'insert', name parts or None, where the
    name ends), ('scs', b'on'|b'off', 0), or (None, None, 0)."""
    match = _WORD.match(head)
    if match is None:
        return None, None, 0
    word = match.group().upper()
    pos = _SPACE_RUN.match(head, match.end()).end()
    if word == b'COPY':
        return ('copy',) + _parse_name(head, pos)
    if word == b'INSERT':
        match = _WORD.match(head, pos)
        if match is None or match.group().upper() != b'INTO':
            return None, None, 0
        return ('insert',) + _parse_name(head, _SPACE_RUN.match(head, match.end()).end())
    if word == b'CREATE':
        match = _WORD.match(head, pos)
        if match is not None and match.group().upper() == b'DATABASE':
            return ('createdb',) + _parse_name(head, _SPACE_RUN.match(head, match.end()).end())
        if match is not None and match.group().upper() in (b'UNLOGGED', b'FOREIGN'):
            match = _WORD.match(head, _SPACE_RUN.match(head, match.end()).end())
        if match is None or match.group().upper() != b'TABLE':
            return None, None, 0
        pos = _SPACE_RUN.match(head, match.end()).end()
        if head[pos:pos + 13].upper() == b'IF NOT EXISTS':
            pos = _SPACE_RUN.match(head, pos + 13).end()
        return ('create',) + _parse_name(head, pos)
    if word == b'SET':
        match = _SCS.match(head)
        if match is not None:
            return 'scs', match.group(1).lower(), 0
        match = _CLIENT_ENCODING.match(head)
        if match is not None:
            return 'encoding', match.group(1).strip(b"'"), 0
    return None, None, 0


def _table_name(parts):
    # schema.table; a catalog in front (db.schema.table) is dropped
    return '.'.join(parts[-2:])


class PlainScanner(object):
    """Incremental scan of plain SQL: tables, COPY row counts, where and how the stream ends.

    Raises BackupCheckError for what psql could not restore or what pg_dump never writes (CRLF line
    endings, a COPY FROM stdin without a table name, an absurd dollar-quote tag)."""

    def __init__(self, count_rows=True, feed_min=_FEED_MIN):
        self.count_rows = count_rows
        self.feed_min = feed_min
        self.tables = []
        self.data_tables = []
        self.row_counts = {}
        self.in_copy = None         # table name while inside COPY data
        self.mid_line = False       # inside COPY: the previous buffer ended inside a (non-terminator) line
        self.copy_rows = 0
        self.carry = b''
        self.pending = []
        self.pending_size = 0
        self.total = 0
        self.base = 0               # stream offset of the buffer being scanned
        self.prev = b'  '           # the two bytes before that buffer
        self.state = _SQL
        self.in_stmt = False
        self.stmt_start = 0
        self.head = b''
        self.tail = b''
        self.depth = 0
        self.std_strings = True
        self.escapes = False        # inside an E'' string (or standard_conforming_strings off)
        self.open_at = 0            # where the current string, identifier, body or comment started
        self.tag = b''
        self.delim = b''
        self.comment_depth = 0
        self.comment_text = None    # a line comment between statements (the trailer is one)
        self.trailer_seen = False
        self.first_line_checked = False
        self.copy_table = None
        self.insert_prefix = None
        self.hold = False
        self.lines = 0              # newlines before the buffer being scanned
        self.restrict = None        # (key, line) of the \restrict in force
        self.created_dbs = set()    # databases the dump creates (CREATE DATABASE): \connect may go there
        self.drops = None           # vetted_sql(): where the dump's own \restrict/\unrestrict lines are
        self.e_string = False       # the literal being read is an E'' string
        self.slashes = 0            # backslashes at the end of the plain literal read so far
        self._buf = b''             # the buffer being scanned
        self.spans = []             # (start, end, newlines) of the COPY data in it

    def _add_table(self, name, data=False):
        if name not in self.tables:
            self.tables.append(name)
        if data and name not in self.data_tables:
            self.data_tables.append(name)
        return name

    def feed(self, block):
        if not block:
            return
        self.total += len(block)
        self.pending.append(block)
        self.pending_size += len(block)
        if self.pending_size >= self.feed_min:
            self._flush(False)

    def _flush(self, final):
        data = self.pending[0] if len(self.pending) == 1 else b''.join(self.pending)
        consumed = self.total - self.pending_size
        self.pending = []
        self.pending_size = 0
        buf = self.carry + data if self.carry else data
        self.base = consumed - len(self.carry)
        self.carry = b''
        if not buf:
            return
        if not self.first_line_checked:
            self._check_first_line(buf, final)
        self._buf = buf
        self.spans = []
        pos = self._scan(buf, final)
        self._buf = b''
        # newlines of the scanned part: COPY data counted them already (most of a dump), the rest is counted here
        lines = 0
        at = 0
        for start, end, newlines in self.spans:
            lines += buf.count(b'\n', at, start) + newlines
            at = end
        self.lines += lines + buf.count(b'\n', at, pos)
        self.prev = (self.prev + buf[max(0, pos - 2):pos])[-2:]  # not buf[:pos]: a copy of the buffer
        self.carry = buf[pos:]

    def _check_first_line(self, buf, final):
        newline = buf.find(b'\n')
        if newline < 0 and not final:
            return
        self.first_line_checked = True
        if newline > 0 and buf[newline - 1] == 0x0d:
            self._crlf(newline - 1)

    def _crlf(self, offset):
        raise BackupCheckError(
            'integrity', 'CRLF line ending at uncompressed byte offset %d: pg_dump writes LF only, so the dump was '
            'converted as text after it was written (unix2dos, an ASCII-mode transfer, git autocrlf), which also '
            'changes multi-line values and function bodies; this verifier rejects such dumps' % offset, offset)

    def _byte(self, buf, index):
        return buf[index] if index >= 0 else self.prev[index]

    def _run(self, run, pos):
        """SQL text with complete plain literals (``run`` starts at ``buf[pos]``): head, tail and parenthesis depth
        (psql's: never below 0). A backslash in it is inside a literal (a backslash ends the text otherwise)."""
        if 0x5c in run:
            at = run.find(b"\\'")
            while at >= 0:
                first = at
                while first > 0 and run[first - 1] == 0x5c:  # the literal's opening quote stops this first
                    first -= 1
                if (at + 1 - first) % 2:
                    self._backslash_quote(self._buf, pos + at + 1)
                at = run.find(b"\\'", at + 2)
        if len(self.head) < _HEAD_MAX:
            self.head += run[:_HEAD_MAX - len(self.head)]
        text = _LITERAL.sub(b'', run) if 0x27 in run else run
        self.tail = (self.tail + text[-_TAIL_MAX:])[-_TAIL_MAX:]
        closes = text.count(b')')
        if closes <= self.depth:
            # the depth cannot reach 0 inside: counting is exact
            self.depth += text.count(b'(') - closes
            return
        depth = self.depth
        for match in _PARENS.finditer(text):
            if match.group() == b'(':
                depth += 1
            elif depth:
                depth -= 1
        self.depth = depth

    def _text(self, data, normal):
        if len(self.head) < _HEAD_MAX:
            self.head += data[:_HEAD_MAX - len(self.head)]
        if normal:
            self.tail = (self.tail + data[-_TAIL_MAX:])[-_TAIL_MAX:]

    def _scan(self, buf, final):
        """Scans ``buf``; returns where it stopped (the rest is carried to the next buffer)."""
        pos = 0
        end = len(buf)
        self.hold = False
        while pos < end and not self.hold:
            state = self.state
            if state == _COPY:
                pos = self._copy_data(buf, pos)
            elif state == _SQL:
                pos = self._sql(buf, pos, end, final)
            elif state in (_SQUOTE, _DQUOTE):
                pos = self._quoted(buf, pos, end, final)
            elif state == _DOLLAR_TAG:
                pos = self._dollar_tag(buf, pos, end, final)
            elif state == _DOLLAR:
                stop = buf.find(self.delim, pos)
                if stop < 0:
                    keep = end if final else max(pos, end - len(self.delim) + 1)
                    self._text(buf[pos:keep], False)
                    return keep
                self._text(buf[pos:stop + len(self.delim)], False)
                self.state = _SQL
                pos = stop + len(self.delim)
            elif state == _LINE_COMMENT:
                stop = buf.find(b'\n', pos)
                if self.comment_text is not None and len(self.comment_text) < 80:
                    self.comment_text += buf[pos:stop if stop >= 0 else end][:80]
                if stop < 0:
                    return end
                self._comment_done()
                self.state = _SQL
                pos = stop + 1
            elif state == _BLOCK_COMMENT:
                match = _BLOCK_SPECIAL.search(buf, pos)
                if match is None:
                    return end
                at = match.start()
                if at + 1 >= end:
                    return end if final else at
                pair = buf[at:at + 2]
                if pair == b'*/':
                    self.comment_depth -= 1
                    pos = at + 2
                    if not self.comment_depth:
                        self.state = _SQL
                elif pair == b'/*':
                    self.comment_depth += 1
                    pos = at + 2
                else:
                    pos = at + 1
            else:  # _COPY_LINE: the data starts on the line after the COPY statement
                stop = buf.find(b'\n', pos)
                hold = self._copy_line_rest(buf, pos, stop if stop >= 0 else end, final)
                if hold is not None:
                    return self._need_more(hold)
                if stop < 0:
                    return end
                if self._byte(buf, stop - 1) == 0x0d:
                    self._crlf(self.base + stop - 1)
                self.state = _COPY
                self.in_copy = self.copy_table
                self.copy_rows = 0
                self.mid_line = False
                pos = stop + 1
        return pos

    def _sql(self, buf, pos, end, final):
        if not self.in_stmt:
            match = _NON_SPACE.search(buf, pos)
            if match is None:
                return end
            pos = match.start()
            char = buf[pos]
            if char == 0x5c:  # a backslash: a psql meta-command, which runs to the end of its line
                return self._meta(buf, pos, end, final)
            if char in b'-/':
                if pos + 1 >= end and not final:
                    return self._need_more(pos)
                pair = buf[pos:pos + 2]
                if pair == b'--':
                    self.state = _LINE_COMMENT
                    self.comment_text = b'--'
                    return pos + 2
                if pair == b'/*':
                    self.state = _BLOCK_COMMENT
                    self.comment_depth = 1
                    self.open_at = self.base + pos
                    return pos + 2
            self.in_stmt = True
            self.trailer_seen = False
            self.stmt_start = self.base + pos
            self.head = b''
            self.tail = b''
            self.depth = 0
        if self.std_strings and buf[pos:pos + 1] != b"'":
            stop = _RUN_TEXT_AND_LITERALS.match(buf, pos).end()
        else:
            stop = _RUN_TEXT.match(buf, pos).end()
        if stop > pos:
            self._run(buf[pos:stop], pos)
        if stop >= end:
            return end
        char = buf[stop]
        if char == 0x3b:  # ';'
            if self.depth == 0:
                self._statement_done(buf, stop)
            return stop + 1
        if char == 0x5c:  # a backslash inside a statement: psql runs it as a meta-command too (SELECT ... \gexec)
            return self._meta(buf, stop, end, final)
        if char == 0x27:  # "'"
            prefix = self._byte(buf, stop - 1)
            self.e_string = prefix in b'Ee' and self._byte(buf, stop - 2) not in _IDENT_BYTES
            self.escapes = not self.std_strings or self.e_string
            self.slashes = 0
            self.state = _SQUOTE
            self.open_at = self.base + stop
            self._text(b"'", False)
            return stop + 1
        if char == 0x22:  # '"'
            self.state = _DQUOTE
            self.open_at = self.base + stop
            self._text(b'"', False)
            return stop + 1
        if char == 0x24:  # '$'
            if self._byte(buf, stop - 1) in _IDENT_BYTES:
                self._text(b'$', True)  # part of an identifier such as a$b
                return stop + 1
            self.state = _DOLLAR_TAG
            self.tag = b''
            self.open_at = self.base + stop
            return stop + 1
        # '-' or '/': a comment, or an operator
        if stop + 1 >= end and not final:
            return self._need_more(stop)
        pair = buf[stop:stop + 2]
        if pair == b'--':
            self.state = _LINE_COMMENT
            self.comment_text = None
            return stop + 2
        if pair == b'/*':
            self.state = _BLOCK_COMMENT
            self.comment_depth = 1
            self.open_at = self.base + stop
            return stop + 2
        self._text(buf[stop:stop + 1], True)
        return stop + 1

    def _line_of(self, buf, pos):
        return self.lines + buf.count(b'\n', 0, pos) + 1

    def _refuse_meta(self, buf, pos, line, why):
        raise BackupCheckError(
            'integrity', 'psql meta-command %s on line %d (uncompressed byte offset %d) is refused: %s. A restore '
            'feeds the dump to psql, which would run it; a backup may only hold pg_dump\'s own \\restrict/\\unrestrict '
            'pair and a \\connect to the database it creates' % (_meta_name(line), self._line_of(buf, pos),
                                                                 self.base + pos, why), self.base + pos)

    def _meta(self, buf, pos, end, final):
        """A backslash at ``buf[pos]`` that psql reads as a meta-command: judged with its whole line."""
        stop = buf.find(b'\n', pos)
        if stop < 0:
            if not final and end - pos <= _META_LINE_MAX:
                return self._need_more(pos)
            stop = end
        if stop - pos > _META_LINE_MAX:
            self._refuse_meta(buf, pos, buf[pos:pos + 64], 'a line of more than %d bytes' % _META_LINE_MAX)
        line = buf[pos:stop]
        why = self._judge_meta(line, buf, pos)
        if why:
            self._refuse_meta(buf, pos, line, why)
        return min(stop + 1, end)

    def _judge_meta(self, line, buf, pos):
        """None when ``line`` is one of pg_dump's own meta-commands where it stands, else why not."""
        if self.in_stmt:
            return 'it stands inside an SQL statement that starts at uncompressed byte offset %d' % self.stmt_start
        match = _RESTRICT_LINE.match(line)
        if match is not None:
            word, key = match.groups()
            if word == b'restrict':
                if self.restrict is not None:
                    return 'psql is already restricted by the \\restrict on line %d' % self.restrict[1]
                self.restrict = (key, self._line_of(buf, pos))
            elif self.restrict is None:
                return 'no \\restrict is in force'
            elif key != self.restrict[0]:
                return 'its key differs from the one of the \\restrict on line %d' % self.restrict[1]
            else:
                self.restrict = None
            if self.drops is not None:
                self.drops.append((self.base + pos, self.base + pos + len(line) + 1))
            return None
        encoding = _ENCODING_LINE.match(line) is not None
        match = None if encoding else _CONNECT_LINE.match(line)
        if not encoding and match is None:
            return 'pg_dump never writes it (only \\restrict KEY, \\unrestrict KEY, \\connect DATABASE and ' \
                '\\encoding SQL_ASCII, each alone on its line)'
        if self.drops is not None:
            return ('psql reads the dump in restricted mode here, where it cannot change databases: restore a dump '
                    'taken without pg_dump -C (--create)')
        if match is not None:
            target = _connect_target(match)
            if target is None or target not in self.created_dbs:
                return 'it connects to a database the dump does not create before it (CREATE DATABASE)'
        if self.restrict is not None:
            return 'it stands inside the \\restrict of line %d (pg_dump ends it before a \\connect)' % self.restrict[1]
        return None

    def _copy_line_rest(self, buf, pos, stop, final):
        """What follows ``COPY ... FROM stdin;`` on its line: psql runs it once the COPY data is read. Refused;
        returns where to wait for more input when it is a backslash command not yet whole (None otherwise)."""
        if not buf[pos:stop].strip(_WHITESPACE):
            return None
        start = pos
        while buf[start] in _WHITESPACE:
            start += 1
        if buf[start] == 0x5c:
            line_end = buf.find(b'\n', start)
            if line_end < 0 and not final and len(buf) - start <= _META_LINE_MAX:
                return start  # the command's name may continue in the next buffer
            self._refuse_meta(buf, start, buf[start:line_end if line_end >= 0 else len(buf)],
                              'it follows COPY ... FROM stdin; on the same line, and psql runs it after the COPY data')
        raise BackupCheckError(
            'integrity', 'text after COPY ... FROM stdin; on line %d (uncompressed byte offset %d): psql runs it as SQL '
            'once the COPY data is read, pg_dump ends that line after the semicolon'
            % (self._line_of(buf, start), self.base + start), self.base + start)

    def _need_more(self, pos):
        # look-ahead past the buffer is needed: stop here, the scan resumes at pos with the next buffer
        self.hold = True
        return pos

    def _backslash_quote(self, buf, quote):
        """The quote at ``buf[quote]``, in a literal that is not an E'' string, follows an odd run of backslashes
        (the last one maybe in an earlier buffer): psql ends the literal at that quote with
        standard_conforming_strings on and not with it off (a server setting that SQL can switch behind this lexer:
        set_config() in a function). Refused; the offset is the backslash's."""
        where = self.base + quote - 1
        raise BackupCheckError(
            'integrity', 'a quote after an odd number of backslashes (\\\') in the string literal on line %d '
            '(uncompressed byte offset %d): psql ends the literal there with standard_conforming_strings on and '
            'not with it off, so what follows could be a psql meta-command to psql and data to this verifier; '
            'pg_dump writes such a value as E\'...\' or in COPY data' % (self._line_of(buf, quote), where), where)

    def _quoted(self, buf, pos, end, final):
        quote = b"'" if self.state == _SQUOTE else b'"'
        plain = self.state == _SQUOTE and not self.escapes
        if self.state == _SQUOTE and self.escapes:
            match = _SQUOTE_ESC_SPECIAL.search(buf, pos)
            stop = match.start() if match is not None else -1
        else:
            stop = buf.find(quote, pos)
        if plain:
            # backslashes right before the quote (or the end of the buffer), with those of earlier buffers
            upto = stop if stop >= 0 else end
            first = upto
            while first > pos and buf[first - 1] == 0x5c:
                first -= 1
            slashes = upto - first + (self.slashes if first == pos else 0)
            if stop >= 0 and slashes % 2:
                self._backslash_quote(buf, stop)
            self.slashes = slashes
        if stop < 0:
            self._text(buf[pos:end], False)
            return end
        if stop + 1 >= end and not final:
            self._text(buf[pos:stop], False)
            return self._need_more(stop)
        if buf[stop] == 0x5c:  # a backslash escapes the next byte
            if buf[stop + 1:stop + 2] == b"'" and not self.e_string:  # an escaped quote that ends the literal with scs on
                self._backslash_quote(buf, stop + 1)
            self._text(buf[pos:stop + 2], False)
            return stop + 2
        if buf[stop + 1:stop + 2] == quote:  # doubled: an escaped quote
            self._text(buf[pos:stop + 2], False)
            self.slashes = 0
            return stop + 2
        self._text(buf[pos:stop + 1], False)
        self.state = _SQL
        return stop + 1

    def _dollar_tag(self, buf, pos, end, final):
        stop = _TAG_RUN.match(buf, pos).end()
        self.tag += buf[pos:stop]
        if len(self.tag) > _TAG_MAX:
            raise BackupCheckError('integrity', 'implausible dollar-quote tag of more than %d bytes at uncompressed '
                                   'byte offset %d' % (_TAG_MAX, self.open_at), self.open_at)
        if stop >= end and not final:
            return end
        if stop < end and buf[stop] == 0x24 and not (self.tag[:1].isdigit()):
            self.delim = b'$' + self.tag + b'$'
            self._text(self.delim, False)
            self.state = _DOLLAR
            return stop + 1
        # not a dollar quote ($1 parameter, or an operator): the '$' and what follows are ordinary text
        self._text(b'$' + self.tag, True)
        self.state = _SQL
        return stop

    def _comment_done(self):
        if self.comment_text is not None:
            if self.comment_text.rstrip() == PLAIN_TRAILER:
                self.trailer_seen = True
            self.comment_text = None

    def _statement_done(self, buf, semicolon):
        """The statement that ends with the ``;`` at ``buf[semicolon]``."""
        self.in_stmt = False
        head = self.head
        if self.insert_prefix is not None and head.startswith(self.insert_prefix):
            return  # one more INSERT into the table of the last one (--inserts dumps: one per row)
        kind, value, end = _parse_head(head)
        if kind == 'copy':
            if not _FROM_STDIN.search(self.tail):
                return
            if value is None:
                raise BackupCheckError(
                    'integrity', 'a COPY ... FROM stdin statement at uncompressed byte offset %d names no valid table '
                    '(it starts %r)' % (self.stmt_start, self.head[:80]), self.stmt_start)
            self.copy_table = self._add_table(_table_name(value), data=True)
            self.state = _COPY_LINE
        elif kind == 'create' and value is not None:
            self._add_table(_table_name(value))
        elif kind == 'insert' and value is not None:
            self._add_table(_table_name(value), data=True)
            # the name ends at the byte after it: a head with these bytes first is an INSERT into the same table
            self.insert_prefix = head[:end + 1]
        elif kind == 'scs':
            self.std_strings = value == b'on'
        elif kind == 'createdb' and value is not None and len(value) == 1:
            self.created_dbs.add(value[0])
        elif kind == 'encoding':
            name = re.sub(br'[^a-z0-9]', b'', value.lower()).decode('ascii', 'replace')
            if name not in _SAFE_ENCODINGS:
                raise BackupCheckError(
                    'integrity', 'SET client_encoding on line %d is refused: pg_dump writes the database\'s own encoding, '
                    'in which no byte of a character is ASCII; in a client-only encoding (SJIS, BIG5, GBK, UHC, '
                    'GB18030, JOHAB) or an unknown one psql could read a backslash, quote or semicolon where this '
                    'verifier does not' % self._line_of(buf, semicolon), self.stmt_start)

    def _copy_data(self, buf, pos):
        search = pos
        while True:
            idx = _find_copy_end(buf, search)
            if idx < 0:
                break
            if (idx == pos and not self.mid_line) or (idx > pos and buf[idx - 1:idx] == b'\n'):
                rows = buf.count(b'\n', pos, idx)
                self.copy_rows += rows
                self.spans.append((pos, idx + len(_COPY_END), rows + 1))
                self.row_counts[self.in_copy] = self.copy_rows
                self.in_copy = None
                self.mid_line = False
                self.state = _SQL
                return idx + len(_COPY_END)
            search = idx + 1
        # no terminator in this buffer: keep the last partial line only if it could still become "\.\n"
        last_nl = buf.rfind(b'\n', pos)
        rows = buf.count(b'\n', pos)
        self.copy_rows += rows
        if last_nl < 0:
            partial_at = pos
            at_start = not self.mid_line
        else:
            partial_at = last_nl + 1
            at_start = True
        partial = buf[partial_at:]
        if at_start and len(partial) < len(_COPY_END) and _COPY_END.startswith(partial):
            # carried to the next buffer: nothing counted in it (no newline in it)
            self.mid_line = False
            self.spans.append((pos, partial_at, rows))
            return self._need_more(partial_at)
        self.mid_line = bool(partial)
        self.spans.append((pos, len(buf), rows))
        return len(buf)

    def finish(self):
        """(complete, detail)"""
        self._flush(True)
        complete, detail = self._end_state()
        if complete and self.restrict is not None:
            raise BackupCheckError(
                'integrity', '\\restrict on line %d has no matching \\unrestrict: pg_dump ends every \\restrict with '
                'one (the dump was edited after pg_dump wrote it)' % self.restrict[1], self.total)
        return complete, detail

    def _end_state(self):
        if self.state == _DOLLAR_TAG:
            # '$' and identifier characters up to the end: not a dollar quote (the last buffer may have been empty)
            self._text(b'$' + self.tag, True)
            self.state = _SQL
        if self.state in (_COPY, _COPY_LINE):
            table = self.in_copy or self.copy_table
            return False, ('the dump ends inside the COPY data of table %s (after %d rows, at uncompressed byte '
                           'offset %d) without its "\\." terminator' % (table, self.copy_rows, self.total))
        if self.state in _STATE_NAMES:
            return False, ('the dump ends at uncompressed byte offset %d inside %s that starts at uncompressed byte '
                           'offset %d' % (self.total, _STATE_NAMES[self.state], self.open_at))
        if self.state == _LINE_COMMENT:
            self._comment_done()
        if self.in_stmt:
            return False, ('the dump ends at uncompressed byte offset %d inside an unterminated SQL statement that '
                           'starts at uncompressed byte offset %d' % (self.total, self.stmt_start))
        if self.trailer_seen:
            return True, 'trailer "%s" found' % PLAIN_TRAILER.decode()
        return False, ('trailer "%s" missing: the dump is truncated or pg_dump did not finish (the SQL stream ends '
                       'at uncompressed byte offset %d)' % (PLAIN_TRAILER.decode(), self.total))


_RESTRICT_KEY_CHARS = string.ascii_letters + string.digits


def new_restrict_key():
    """A random \\restrict key, as pg_dump makes them: 64 letters and digits."""
    pick = random.SystemRandom().choice
    return ''.join(pick(_RESTRICT_KEY_CHARS) for dummy in range(64))


def vetted_sql(blocks, restrict_key=None):
    """The decompressed plain dump ``blocks`` (an iterable of bytes) as psql may read it, block by block.

    Only bytes the scanner has judged are yielded: a refused meta-command raises BackupCheckError before any byte
    of its line (or of anything after it) is yielded, so a reader that stops there never sees it - even if the file
    changed since it was verified. With ``restrict_key`` (new_restrict_key()), the dump's own \\restrict /
    \\unrestrict lines are dropped and the stream starts with ``\\restrict KEY`` and never ends it: a psql of
    15.14, 16.10, 17.6 or later then refuses every meta-command the scanner did not see (one hidden by a server
    setting changed behind the lexer's back), and ``\\connect`` is refused here. psql before those releases does
    not know \\restrict and stops at once (with ON_ERROR_STOP). A dump that is incomplete (no trailer, inside a
    COPY) raises BackupCheckError('completeness') after its last byte."""
    scanner = PlainScanner(False, feed_min=0)
    if restrict_key is not None:
        if not isinstance(restrict_key, str) or not _RESTRICT_LINE.match(b'\\restrict ' + restrict_key.encode()):
            raise ValueError('a restrict key is 1 to 256 letters and digits')
        scanner.drops = []
        yield b'\\restrict ' + restrict_key.encode('ascii') + b'\n'
    drops = scanner.drops if scanner.drops is not None else []
    held = b''    # fed but not yet yielded, from stream offset ``start``
    start = 0
    for block in blocks:
        if not block:
            continue
        scanner.feed(block)
        held += block
        safe = scanner.total - scanner.pending_size - len(scanner.carry)
        out, held, start = _vetted_cut(held, start, safe, drops)
        if out:
            yield out
    complete, detail = scanner.finish()
    out, held, start = _vetted_cut(held, start, scanner.total, drops)
    if out:
        yield out
    if not complete:
        raise BackupCheckError('completeness', detail)


def _vetted_cut(held, start, safe, drops):
    """(bytes of ``held`` up to stream offset ``safe`` without the dropped lines, the rest, its offset)."""
    pieces = []
    pos = start
    while drops and drops[0][0] < safe:
        begin, end = drops.pop(0)
        pieces.append(held[pos - start:begin - start])
        pos = min(end, safe)
    if safe > pos:
        pieces.append(held[pos - start:safe - start])
    return b''.join(pieces), held[safe - start:], safe


def vetted_sql_file(path, restrict_key=None, chunk_size=CHUNK_SIZE):
    """vetted_sql() of the plain dump ``path`` (gzip-compressed or not; a symbolic link is refused), for a
    restore that must not hand psql a byte the verifier did not judge."""
    fobj = open_regular(path, os.lstat(path))
    with fobj:
        reader = Reader(fobj, chunk_size, hashlib.sha256())
        blocks = reader.chunks()
        first = next(blocks, (0, b''))
        if first[1][:2] == GZIP_MAGIC:
            def raw():
                yield first
                yield from blocks
            stream = gunzip(raw(), {'members': 0, 'uncompressed': 0}, reader,
                            Budget(os.fstat(fobj.fileno()).st_size))
        else:
            stream = itertools.chain([first[1]], (block for dummy, block in blocks))
        yield from vetted_sql(stream, restrict_key)


def looks_like_sql(head):
    text = head.lstrip()
    return text[:2] == b'--' or text[:3].upper() in (b'SET', b'CRE', b'BEG', b'SEL') or text[:9] == b'\\restrict'


def plain_done(result, scanner):
    complete, detail = scanner.finish()
    result['tables'] = scanner.tables
    result['row_counts'] = scanner.row_counts if scanner.count_rows else {}
    result['checks']['completeness'] = check(complete, detail)
    result['_content'] = (len(scanner.tables), len(scanner.data_tables),
                          'tables named by CREATE TABLE, COPY or INSERT; data from COPY or INSERT')
