# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Restore test of a verified backup into a throwaway database (private to tgops.runbooks).

The caller passes its ``run_command`` (``AnsibleModule.run_command`` in the module, a fake in unit tests),
which takes an argv list and ``environ_update``. Nothing goes through a shell.

* custom archives: ``pg_restore --exit-on-error --no-owner --dbname SCRATCH FILE`` (pg_restore reads the
  file itself);
* plain SQL (``.sql``, ``.sql.gz``): ``psql -X -q -v ON_ERROR_STOP=1 --file PIPE`` reads a named pipe that a
  thread of this process fills with vetted_source(): the (decompressed) dump only as far as the verifier's lexer
  judged it, under a fresh ``\\restrict`` key when psql has restricted mode (_pg_backup.psql_version()). psql
  never reads the file itself, so a meta-command (``\\! cmd``) never reaches it: the stream stops before its line.

The scratch database is created with a random name and dropped in ``finally`` whatever happened.

The client never reads the verified path: the file is first copied into a private directory while hashed, and
only a copy whose SHA-256 is the one verification computed (``verified['sha256']``) is restored - so the bytes
psql or pg_restore read are exactly the bytes that were judged, even if the file is replaced in between.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import os
import re
import shutil
import tempfile
import time

from ansible_collections.tgops.runbooks.plugins.module_utils._backup_sql import new_restrict_key, vetted_sql_file
from ansible_collections.tgops.runbooks.plugins.module_utils._pg_backup import (
    BackupError,
    StreamFifo,
    conn_environ,
    psql_argv,
    psql_version,
    pinned_copy,
    quote_ident,
    restore_argv,
    restrict_supported,
    restrict_warning,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import conn_from_params

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


def vetted_source(path, restrict):
    """What psql may read of the plain dump ``path`` (``.sql`` or ``.sql.gz``): vetted_sql_file(), under a fresh
    random ``\\restrict`` key when ``restrict``. Raises BackupCheckError (line and command) before any byte of a
    refused line. The ``plain_source`` of _pg_backup.restore_database()."""
    return vetted_sql_file(path, new_restrict_key() if restrict else None)


def build_restore_argv(fmt, input_path, dbname, conn, bins):
    """argv of the restore command. ``input_path`` is the backup itself or the FIFO that carries it. No
    ``--single-transaction`` (a failed restore test drops the scratch database anyway); ``--no-owner``: the
    scratch database's owner is the connecting role."""
    return restore_argv(bins, conn, dbname, 'custom' if fmt == 'custom' else 'plain', input_path,
                        single_transaction=False, no_owner=True)


def run_restore_test(run_command, verified, params, bins, min_rows=None, prefix='tgops_verify_',
                     tmpdir=None):
    """Restore ``verified`` (a verify_backup() result) into a scratch database, count rows, drop it.

    Returns a dict: database, passed, error (creating, restoring or dropping failed; None otherwise),
    duration_seconds, row_counts, min_rows_failed, count_errors, dropped, commands (argv lists; they carry no
    password: it is in a password file), warnings (a psql without restricted mode)."""
    min_rows = dict(min_rows or {})
    conn = conn_from_params(params)
    env = conn_environ(conn, password_env=True)
    maint = params.get('maintenance_db') or 'postgres'
    dbname = scratch_db_name(prefix)
    report = {
        'database': dbname, 'passed': False, 'error': None, 'duration_seconds': None, 'row_counts': {},
        'min_rows_failed': [], 'dropped': False, 'commands': [], 'warnings': [],
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
    if not verified.get('sha256'):
        report['error'] = 'no SHA-256 of the verified bytes: refusing to restore-test what was not read in full'
        report['dropped'] = None
        return report
    workdir = tempfile.mkdtemp(prefix='tgops-verify-', dir=tmpdir)
    try:
        os.chmod(workdir, 0o700)
        try:
            copy, _sha256 = pinned_copy(verified['path'], workdir, verified['sha256'])
        except (BackupError, IOError, OSError) as exc:
            report['error'] = 'not restore-tested: %s' % getattr(exc, 'message', exc)
            report['dropped'] = None  # nothing was created
            return report
        restrict = False
        if verified['format'] == 'plain':
            version = psql_version(run_command, bins['psql'])
            restrict = restrict_supported(version)
            if not restrict:
                report['warnings'].append(restrict_warning(bins['psql'], version))
        return _run_restore_test(run, report, dict(verified, path=copy), conn, maint, dbname, bins, min_rows,
                                 tmpdir, restrict)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_restore_test(run, report, verified, conn, maint, dbname, bins, min_rows, tmpdir, restrict=False):
    create = psql_argv(bins['psql'], conn, maint, 'CREATE DATABASE %s' % quote_ident(dbname))
    rc, out, err = run(create)
    if rc != 0:
        report['error'] = 'could not create the scratch database %s: %s' % (dbname, _err_text(out, err))
        report['dropped'] = None  # nothing was created
        return report
    started = time.time()
    fifo = None
    try:
        path = verified['path']
        # plain SQL, gzipped or not, reaches psql only as the vetted stream in a FIFO; the zlib data blocks inside
        # a custom archive are pg_restore's business
        if verified['format'] == 'plain':
            fifo = StreamFifo(lambda: vetted_source(verified['path'], restrict), tmpdir).__enter__()
            path = fifo.path
        rc, out, err = run(build_restore_argv(verified['format'], path, dbname, conn, bins))
        if fifo is not None:
            fifo.feeder.finish()
            if fifo.feeder.refused is not None:
                report['error'] = 'restore into %s refused: psql got nothing past this: %s' % (
                    dbname, fifo.feeder.error)
                return report
        if rc != 0:
            report['error'] = 'restore into %s failed (rc=%d): %s' % (dbname, rc, _err_text(out, err))
            return report
        if fifo is not None and not fifo.feeder.complete:
            report['error'] = 'restore into %s: the client did not read the whole backup (%s)' % (
                dbname, fifo.feeder.error or 'pipe not read to its end')
            return report
        report['duration_seconds'] = round(time.time() - started, 3)
        for table in sorted(min_rows):
            sql = 'SELECT count(*) FROM %s' % quote_ident(table)
            rc, out, err = run(psql_argv(bins['psql'], conn, dbname, sql, tuples_only=True))
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
        if fifo is not None:
            fifo.__exit__(None, None, None)
        if report['duration_seconds'] is None:
            report['duration_seconds'] = round(time.time() - started, 3)
        drop_error = _drop(run, conn, maint, dbname, bins)
        if drop_error:
            report['error'] = '; '.join(e for e in (report['error'], drop_error) if e)
            report['passed'] = False
        else:
            report['dropped'] = True


def _drop(run, conn, maint, dbname, bins):
    sql = 'DROP DATABASE IF EXISTS %s WITH (FORCE)' % quote_ident(dbname)
    rc, out, err = run(psql_argv(bins['psql'], conn, maint, sql))
    if rc == 0:
        return None
    # PostgreSQL before 13 has no WITH (FORCE)
    rc, out2, err2 = run(psql_argv(bins['psql'], conn, maint, 'DROP DATABASE IF EXISTS %s' % quote_ident(dbname)))
    if rc == 0:
        return None
    return 'could not drop the scratch database %s: %s' % (dbname, _err_text(out2, err2) or _err_text(out, err))
