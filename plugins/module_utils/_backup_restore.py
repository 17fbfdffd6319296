# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Restore test of a verified backup into a throwaway database (private to tgops.runbooks).

The caller passes its ``run_command`` (``AnsibleModule.run_command`` in the module, a fake in unit tests),
which takes an argv list and ``environ_update``. Nothing goes through a shell.

* custom archives: ``pg_restore --exit-on-error --no-owner --dbname SCRATCH FILE`` (pg_restore reads the
  file itself);
* plain SQL (``.sql``): ``psql -X -q -v ON_ERROR_STOP=1 --file FILE``;
* gzip-compressed SQL (``.sql.gz``) or archive: ``psql``/``pg_restore`` read a named pipe (FIFO, mode 0600,
  in a private temporary directory) that a thread of this process fills with the decompressed stream, 1 MiB
  at a time. ``run_command(data=...)`` would hold the whole dump in memory and ``gunzip -c | psql`` would need
  a shell. The feeder opens the FIFO non-blocking and retries until the client opens it, so a client that
  fails before reading (wrong password, server down) never leaves the thread blocked; a client that stops
  reading (ON_ERROR_STOP) ends it with EPIPE.

The scratch database is created with a random name and dropped in ``finally`` whatever happened.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import errno
import gzip
import os
import re
import shutil
import tempfile
import threading
import time

from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import (
    libpq_argv,
    libpq_environ,
    quote_ident,
)

FEED_BLOCK = 1024 * 1024
# lower case so that the name means the same quoted or not; 41 + 12 random characters stay under 63 bytes
DB_PREFIX_RE = re.compile(r'[a-z_][a-z0-9_]{0,40}\Z')


def check_db_prefix(prefix):
    """None if ``prefix`` is a safe scratch database name prefix, else why not."""
    if not isinstance(prefix, str) or not DB_PREFIX_RE.match(prefix):
        return ('must be 1 to 41 characters: a lower-case letter or _ first, then lower-case letters, digits or _ '
                '(got %r)' % (prefix[:80] if isinstance(prefix, str) else prefix,))
    return None


def scratch_db_name(prefix):
    problem = check_db_prefix(prefix)
    if problem:
        raise ValueError('restore_db_prefix %s' % problem)
    return '%s%s' % (prefix, binascii.hexlify(os.urandom(6)).decode('ascii'))


def _err_text(out, err):
    text = (err or '').strip() or (out or '').strip()
    lines = text.splitlines()
    return '\n'.join(lines[-20:])


class _FifoFeeder(object):
    """Writes the decompressed content of ``path`` into the FIFO ``fifo`` from a thread.

    The feeder stops once the whole stream is written, or when ``finish()`` is called (the client has
    exited). Only ``psql`` reads a FIFO: ``pg_restore`` opens its input file twice (format detection, then
    reading), which a pipe cannot serve, so a gzip-compressed custom archive is not restore-tested."""

    def __init__(self, path, fifo, max_opens=1):
        self.path = path
        self.fifo = fifo
        self.max_opens = max_opens
        self.stop = threading.Event()
        self.error = None
        self.bytes_written = 0
        self.opens = 0
        self.complete = False
        self.thread = threading.Thread(target=self._run, name='tgops-restore-feeder')
        self.thread.daemon = True

    def start(self):
        self.thread.start()

    def _open(self):
        while not self.stop.is_set():
            try:
                return os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
                    self.error = 'cannot open the restore pipe: %s' % exc
                    return None
                self.stop.wait(0.05)
        return None

    def _run(self):
        while self.opens < self.max_opens and not self.complete:
            fd = self._open()
            if fd is None:
                return
            self.opens += 1
            self.error = None
            self.bytes_written = 0
            try:
                os.set_blocking(fd, True)
                with os.fdopen(fd, 'wb') as out:
                    fd = None
                    with gzip.open(self.path, 'rb') as src:
                        while True:
                            block = src.read(FEED_BLOCK)
                            if not block:
                                break
                            out.write(block)
                            self.bytes_written += len(block)
                self.complete = True
            except (IOError, OSError, EOFError) as exc:
                if getattr(exc, 'errno', None) == errno.EPIPE:
                    self.error = 'the client stopped reading after %d bytes' % self.bytes_written
                else:
                    self.error = 'feeding the restore pipe failed after %d bytes: %s' % (self.bytes_written, exc)
                    return
            finally:
                if fd is not None:
                    os.close(fd)

    def finish(self, timeout=30):
        self.stop.set()
        self.thread.join(timeout)


def build_restore_argv(fmt, compression, input_path, dbname, params, bins):
    """argv of the restore command. ``input_path`` is the backup itself or the FIFO that carries it."""
    if fmt == 'custom':
        return [bins['pg_restore'], '--exit-on-error', '--no-owner'] + libpq_argv(params, dbname) + [input_path]
    return ([bins['psql'], '-X', '-q', '-v', 'ON_ERROR_STOP=1'] + libpq_argv(params, dbname)
            + ['--file', input_path])


def build_psql_argv(params, dbname, sql, bins, tuples_only=False):
    argv = [bins['psql'], '-X', '-q', '-v', 'ON_ERROR_STOP=1']
    if tuples_only:
        argv.extend(['-A', '-t'])
    return argv + libpq_argv(params, dbname) + ['--command', sql]


def run_restore_test(run_command, verified, params, bins, min_rows=None, prefix='tgops_verify_',
                     tmpdir=None):
    """Restore ``verified`` (a verify_backup() result) into a scratch database, count rows, drop it.

    Returns a dict: database, passed, error (creating, restoring or dropping failed; None otherwise),
    duration_seconds, row_counts, min_rows_failed, count_errors, dropped, commands (argv lists; they carry no
    password: it is in the environment)."""
    min_rows = dict(min_rows or {})
    env = libpq_environ(params)
    maint = params.get('maintenance_db') or 'postgres'
    dbname = scratch_db_name(prefix)
    report = {
        'database': dbname, 'passed': False, 'error': None, 'duration_seconds': None, 'row_counts': {},
        'min_rows_failed': [], 'dropped': False, 'commands': [],
    }

    def run(argv):
        report['commands'].append(list(argv))
        return run_command(argv, environ_update=env)

    if verified.get('outer_compression') == 'gzip':
        report['error'] = ('a gzip-compressed custom archive cannot be restore-tested without writing it out '
                           'decompressed (pg_restore opens its input twice, which a pipe cannot serve): gunzip it '
                           'first')
        report['dropped'] = None
        return report
    create = build_psql_argv(params, maint, 'CREATE DATABASE %s' % quote_ident(dbname), bins)
    rc, out, err = run(create)
    if rc != 0:
        report['error'] = 'could not create the scratch database %s: %s' % (dbname, _err_text(out, err))
        report['dropped'] = None  # nothing was created
        return report
    started = time.time()
    workdir = None
    feeder = None
    try:
        path = verified['path']
        # gzip around the whole file (a .sql.gz, or a gzipped archive) is decompressed into a FIFO; the zlib
        # data blocks inside a custom archive are pg_restore's business
        streamed = verified['format'] == 'plain' and verified.get('compression') == 'gzip'
        if streamed:
            workdir = tempfile.mkdtemp(prefix='tgops-restore-', dir=tmpdir)
            os.chmod(workdir, 0o700)
            fifo = os.path.join(workdir, 'backup.pipe')
            os.mkfifo(fifo, 0o600)
            feeder = _FifoFeeder(path, fifo)
            feeder.start()
            path = fifo
        argv = build_restore_argv(verified['format'], verified.get('compression'), path, dbname, params, bins)
        rc, out, err = run(argv)
        if feeder is not None:
            feeder.finish()
        if rc != 0:
            report['error'] = 'restore into %s failed (rc=%d): %s' % (dbname, rc, _err_text(out, err))
            return report
        if feeder is not None and not feeder.complete:
            report['error'] = 'restore into %s: the client did not read the whole backup (%s)' % (
                dbname, feeder.error or 'pipe not read to its end')
            return report
        report['duration_seconds'] = round(time.time() - started, 3)
        for table in sorted(min_rows):
            sql = 'SELECT count(*) FROM %s' % quote_ident(table)
            rc, out, err = run(build_psql_argv(params, dbname, sql, bins, tuples_only=True))
            count = None
            if rc == 0:
                try:
                    count = int(out.strip().splitlines()[-1])
                except (ValueError, IndexError):
                    count = None
            else:
                report.setdefault('count_errors', {})[table] = _err_text(out, err)
            report['row_counts'][table] = count
            if count is None or count < min_rows[table]:
                report['min_rows_failed'].append(table)
        report['passed'] = not report['min_rows_failed']
        return report
    finally:
        if feeder is not None:
            feeder.finish()
        if report['duration_seconds'] is None:
            report['duration_seconds'] = round(time.time() - started, 3)
        drop_error = _drop(run, params, maint, dbname, bins)
        if drop_error:
            report['error'] = '; '.join(e for e in (report['error'], drop_error) if e)
            report['passed'] = False
        else:
            report['dropped'] = True
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _drop(run, params, maint, dbname, bins):
    sql = 'DROP DATABASE IF EXISTS %s WITH (FORCE)' % quote_ident(dbname)
    rc, out, err = run(build_psql_argv(params, maint, sql, bins))
    if rc == 0:
        return None
    # PostgreSQL before 13 has no WITH (FORCE)
    rc, out2, err2 = run(build_psql_argv(params, maint, 'DROP DATABASE IF EXISTS %s' % quote_ident(dbname), bins))
    if rc == 0:
        return None
    return 'could not drop the scratch database %s: %s' % (dbname, _err_text(out2, err2) or _err_text(out, err))
