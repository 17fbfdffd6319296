# -*- coding: utf-8 -*-
# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A backup file as the verifier and the restore read it (private to tgops.runbooks): the error every reader
raises, what a file's first bytes say it is, opening it as a regular file only (no link, FIFO or device) and
reading it in fixed-size blocks hashed in the same pass. Nothing here imports Ansible (the scheduled backup
runner, roles/backup/files/tgops_backup.py, runs these files without it).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import errno
import os
import stat


CHUNK_SIZE = 1024 * 1024

GZIP_MAGIC = b'\x1f\x8b'
CUSTOM_MAGIC = b'PGDMP'
PLAIN_TRAILER = b'-- PostgreSQL database dump complete'


class BackupCheckError(Exception):
    """A check failed: ``check`` is its name, ``offset`` the byte offset where it was detected (or None)."""

    def __init__(self, check, message, offset=None):
        super(BackupCheckError, self).__init__(message)
        self.check = check
        self.message = message
        self.offset = offset


class Truncated(Exception):
    """The stream ended (at ``offset``, its length) in the middle of reading ``what``."""

    def __init__(self, offset, needed, what):
        super(Truncated, self).__init__(what)
        self.offset = offset
        self.needed = needed
        self.what = what


def short(value, limit=80):
    """repr() of a value, cut for an error message."""
    text = repr(value)
    return text if len(text) <= limit else '%s... (%d characters)' % (text[:limit], len(text))


class Reader(object):
    """Fixed-size reads of a file, hashing every byte in the same pass."""

    def __init__(self, fobj, chunk_size, hasher, size=None):
        self.fobj = fobj
        self.size = size
        self.chunk_size = chunk_size
        self.hasher = hasher
        self.bytes_read = 0

    def chunks(self):
        read = self.fobj.read
        update = self.hasher.update
        size = self.chunk_size
        while True:
            block = read(size)
            if not block:
                return
            update(block)
            offset = self.bytes_read
            self.bytes_read += len(block)
            yield offset, block

    def pread(self, offset, length, exact=True):
        """``length`` bytes at ``offset`` again, without moving the file position (error path of ISA-L)."""
        try:
            fileno = self.fobj.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation (BytesIO) is an OSError
            fileno = None
        if fileno is not None:
            data = os.pread(fileno, length, offset)
        else:
            here = self.fobj.tell()
            self.fobj.seek(offset)
            data = self.fobj.read(length)
            self.fobj.seek(here)
        if exact and len(data) != length:
            raise IOError(errno.EIO, 'the file changed while it was read (%d bytes at byte offset %d read again '
                                     'gave %d)' % (length, offset, len(data)))
        return data

    def blocks_from(self, offset):
        """The file's blocks from ``offset`` to its end, read again (not hashed)."""
        while True:
            block = self.pread(offset, self.chunk_size, exact=False)
            if not block:
                return
            offset += len(block)
            yield block


def check(passed, detail):
    return {'passed': bool(passed), 'detail': detail}


_FILE_KINDS = ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a named pipe'), (stat.S_ISCHR, 'a character device'),
               (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'))


def not_regular(path, mode):
    """Why ``path`` (lstat mode ``mode``) is refused."""
    if stat.S_ISLNK(mode):
        return ('%s is a symbolic link: refused - a backup is read as the regular file it is, never through a link, '
                'which could point anywhere (another file, /dev/zero, a pipe that never ends); name the file itself'
                % path)
    kind = next((name for test, name in _FILE_KINDS if test(mode)), 'not a regular file')
    return '%s is %s, not a regular file: refused' % (path, kind)


def open_regular(path, st):
    """The file ``path`` whose lstat() was ``st``, opened for reading without following a symbolic link
    (O_NOFOLLOW) or blocking on a pipe (O_NONBLOCK): a path replaced after the lstat() is refused (ValueError)
    rather than read."""
    flags = os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(not_regular(path, stat.S_IFLNK))
        raise
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            raise ValueError('%s was replaced between its check and its opening: refused' % path)
        return os.fdopen(fd, 'rb')
    except BaseException:
        os.close(fd)
        raise


def iso_mtime(mtime):
    try:
        return datetime.datetime.fromtimestamp(mtime, tz=datetime.timezone.utc).isoformat()
    except (OverflowError, ValueError, OSError):
        return None
