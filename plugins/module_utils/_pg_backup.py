# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Taking, naming, pruning and restoring PostgreSQL backups (private to tgops.runbooks).

Used by the ``pg_backup``, ``backup_retention`` and ``pg_backup_restore`` modules, and by the scheduled
backup runner that the ``backup`` role installs on the host (``roles/backup/files/tgops_backup.py``), which
copies this file next to itself: so nothing here imports Ansible. Commands run through a ``run_command``
callable (``AnsibleModule.run_command`` in the modules) that takes an argv list and ``environ_update``.

The password never travels in argv or in the environment: it is written to a private libpq password file
(mode 0600, ``PGPASSFILE``) for the duration of the call.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import atexit
import binascii
import datetime
import errno
import gzip
import hashlib
import os
import re
import shutil
import stat
import tempfile
import threading
import time

FORMATS = {'custom': '.dump', 'plain_gz': '.sql.gz'}
STAMP_FORMAT = '%Y%m%d_%H%M%S'
LABEL_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9-]*(?:_[A-Za-z0-9-]+)*$')
FEED_BLOCK = 1024 * 1024
GZIP_LEVEL = 6


class BackupError(Exception):
    """A step failed; ``stage`` names it (dump, verify, drop, create, restore, count, ...)."""

    def __init__(self, stage, message, **details):
        super(BackupError, self).__init__(message)
        self.stage = stage
        self.message = message
        self.details = details


# ---------------------------------------------------------------------------------------------------------
# Names

def check_label(label):
    """A label such as ``pre_deployment`` is part of a file name: letters, digits, ``-`` and single ``_``."""
    if label is None or label == '':
        return None
    if not LABEL_RE.match(label):
        raise ValueError('label %r: use letters, digits, "-" and single "_" (for example pre_deployment)' % label)
    return label


def extension(fmt):
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError('format %r: expected one of %s' % (fmt, ', '.join(sorted(FORMATS))))


def backup_name(prefix, fmt, when, label=None):
    """``<prefix>_YYYYMMDD_HHMMSS[_<label>].<ext>`` as both runbooks name their backups."""
    if not prefix or '/' in prefix:
        raise ValueError('prefix %r: a non-empty file name prefix without "/"' % prefix)
    label = check_label(label)
    name = '%s_%s' % (prefix, when.strftime(STAMP_FORMAT))
    if label:
        name += '_' + label
    return name + extension(fmt)


def parse_backup_name(name, prefix, fmt):
    """``{'stamp': datetime, 'label': str or None}`` for a name this collection writes, else None.

    Names that are not ours (other prefixes, temporary files, ``*.sql.gz.old``) give None: retention never
    touches them."""
    pattern = r'^%s_(\d{8}_\d{6})(?:_(.+))?%s$' % (re.escape(prefix), re.escape(extension(fmt)))
    match = re.match(pattern, name)
    if not match:
        return None
    try:
        stamp = datetime.datetime.strptime(match.group(1), STAMP_FORMAT)
    except ValueError:
        return None
    label = match.group(2)
    if label is not None and not LABEL_RE.match(label):
        return None
    return {'stamp': stamp, 'label': label}


def backup_glob(prefix, fmt):
    """Shell glob of every backup with this prefix and format (what backup_verify's ``pattern`` takes)."""
    return '%s_*%s' % (prefix, extension(fmt))


# ---------------------------------------------------------------------------------------------------------
# Retention

def list_named_backups(directory, prefix, fmt):
    """Regular files in ``directory`` named as this collection names backups, newest (by name stamp) first."""
    found = []
    for name in os.listdir(directory):
        parsed = parse_backup_name(name, prefix, fmt)
        if parsed is None:
            continue
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        found.append({'path': path, 'name': name, 'stamp': parsed['stamp'], 'label': parsed['label'],
                      'size': st.st_size})
    found.sort(key=lambda b: (b['stamp'], b['name']), reverse=True)
    return found


def retention_plan(backups, now, keep=7, keep_days=7):
    """Split ``backups`` (list_named_backups() output) into kept and removed paths.

    Only unlabelled (scheduled or manual) backups are subject to the daily policy; labelled ones such as
    ``pre_deployment`` are kept for their own cleanup. A daily backup is kept when it is one of the newest
    ``keep`` daily backups or at most ``keep_days`` days old (the name's stamp, the host's local time, not
    the mtime, which a copy or a download from S3 changes). With ``keep`` and ``keep_days`` both None nothing
    is removed. Returns ``{'remove': [...], 'keep': [...], 'labelled': [...]}`` (paths)."""
    for value, name in ((keep, 'keep'), (keep_days, 'keep_days')):
        if value is not None and value < 0:
            raise ValueError('%s must be 0 or more, got %d' % (name, value))
    plan = {'remove': [], 'keep': [], 'labelled': []}
    daily = [b for b in backups if not b['label']]
    plan['labelled'] = [b['path'] for b in backups if b['label']]
    for index, backup in enumerate(daily):
        kept = keep is None and keep_days is None
        if keep is not None and index < keep:
            kept = True
        if keep_days is not None and (now - backup['stamp']).total_seconds() <= keep_days * 86400:
            kept = True
        plan['keep' if kept else 'remove'].append(backup['path'])
    return plan


# ---------------------------------------------------------------------------------------------------------
# Connection

def pgpass_escape(value):
    return value.replace('\\', '\\\\').replace(':', '\\:')


# libpq keywords that have their own option (or must never reach argv: the password) and so cannot be set
# through ``connect_params``
RESERVED_CONNECT_PARAMS = frozenset(['dbname', 'host', 'hostaddr', 'password', 'passfile', 'port', 'user',
                                     'service', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey'])
CONNECT_PARAM_RE = re.compile(r'^[a-z][a-z_]*$')


def connect_params_problem(connect_params):
    """None if ``connect_params`` (libpq keyword -> value) can go into a connection string, else why not."""
    for key in sorted(connect_params or {}, key=str):
        if not isinstance(key, str) or not CONNECT_PARAM_RE.match(key):
            return 'connect_params: %r is not a libpq connection keyword' % (key,)
        if key in RESERVED_CONNECT_PARAMS:
            return ('connect_params: %s has its own option (or, for a password, must never reach a command line); '
                    'use that option instead' % key)
        value = connect_params[key]
        if isinstance(value, (dict, list)) or value is None:
            return 'connect_params: %s needs a single value' % key
        if '\x00' in str(value):
            return 'connect_params: %s contains a NUL character' % key
    return None


def conninfo_value(value):
    """A libpq connection-string value in single quotes, backslash and quote escaped."""
    return "'%s'" % value.replace('\\', '\\\\').replace("'", "\\'")


def dbname_conninfo(dbname, connect_params=None):
    """The ``--dbname`` argument for ``dbname``: a connection string with that key (and ``connect_params``).

    psql, pg_dump and pg_restore read a ``--dbname`` containing ``=`` (or starting with ``postgresql://``) as a
    whole connection string, so a database name such as ``x host=other dbname=prod`` would connect elsewhere.
    Always passing ``dbname='...'`` makes libpq take the name literally, whatever characters it has."""
    problem = connect_params_problem(connect_params)
    if problem:
        raise ValueError(problem)
    pairs = ['dbname=%s' % conninfo_value(dbname)]
    for key in sorted(connect_params or {}):
        value = connect_params[key]
        if isinstance(value, bool):
            value = int(value)
        pairs.append('%s=%s' % (key, conninfo_value(str(value))))
    return ' '.join(pairs)


def conn_argv(conn, dbname):
    """libpq options for host, port, user, database (``conn``: host, port, user, unix_socket (wins over
    host), password (see PassFile), env (more libpq variables such as PGSSLMODE), connect_params (more
    connection-string keywords)). Never the password.

    ``--no-password``: a wrong or missing password fails at once instead of waiting for a prompt. The
    database name goes in as a quoted connection-string value (see dbname_conninfo())."""
    argv = []
    host = conn.get('unix_socket') or conn.get('host')
    if host:
        argv.extend(['--host', host])
    argv.extend(['--port', str(conn.get('port') or 5432)])
    if conn.get('user'):
        argv.extend(['--username', conn['user']])
    return argv + ['--no-password', '--dbname', dbname_conninfo(dbname, conn.get('connect_params'))]


def conn_environ(conn, password_env=False):
    """libpq environment of the client programs: application name, connect timeout and ``conn['env']``
    (SSL settings). With ``password_env``, also ``PGPASSFILE``: a private password file holding
    ``conn['password']`` that lives as long as this process (see session_passfile()); for a shorter life
    use PassFile.

    Never ``PGPASSWORD``: a child's environment is readable in /proc/<pid>/environ by every process of the same
    user, and incident tooling dumps environments."""
    env = {'PGAPPNAME': 'tgops.runbooks', 'PGCONNECT_TIMEOUT': '10'}
    env.update(conn.get('env') or {})
    if password_env and conn.get('password'):
        env['PGPASSFILE'] = session_passfile(conn['password'])
    return env


_SESSION_PASSFILES = {}


def session_passfile(password):
    """Path of a PassFile holding ``password``, written once per process and removed when the process exits
    (an Ansible module's exit_json/fail_json end it through sys.exit, which runs the removal)."""
    if password not in _SESSION_PASSFILES:
        passfile = PassFile(password).__enter__()
        atexit.register(passfile.__exit__, None, None, None)
        _SESSION_PASSFILES[password] = passfile.path
    return _SESSION_PASSFILES[password]


class PassFile(object):
    """A libpq password file (0600) in a private directory, removed on exit; ``environ()`` points at it.

    With no password, no file is written: libpq then uses the user's own ~/.pgpass (or trust/peer)."""

    def __init__(self, password, tmpdir=None):
        self.password = password or ''
        self.tmpdir = tmpdir
        self.dir = None
        self.path = None

    def __enter__(self):
        if self.password:
            if '\n' in self.password or '\r' in self.password:
                raise BackupError('connect', 'the database password contains a line break, which a libpq '
                                             'password file cannot hold')
            self.dir = tempfile.mkdtemp(prefix='tgops-pgpass-', dir=self.tmpdir)
            os.chmod(self.dir, 0o700)
            self.path = os.path.join(self.dir, 'pgpass')
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as out:
                out.write('*:*:*:*:%s\n' % pgpass_escape(self.password))
        return self

    def environ(self, extra=None):
        env = conn_environ({'env': extra})
        if self.path:
            env['PGPASSFILE'] = self.path
        return env

    def __exit__(self, *exc):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


def quote_ident(name):
    """Quote a possibly schema-qualified identifier: ``public.users`` -> ``"public"."users"``; an already
    quoted name (``"Mixed Case"``) is taken as one identifier."""
    parts = name.split('.', 1) if not name.startswith('"') else [name]
    quoted = []
    for part in parts:
        if part.startswith('"') and part.endswith('"') and len(part) > 1:
            part = part[1:-1].replace('""', '"')
        quoted.append('"%s"' % part.replace('"', '""'))
    return '.'.join(quoted)


def _err_text(out, err, lines=20):
    text = (err or '').strip() or (out or '').strip()
    return '\n'.join(text.splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------------------
# Backup

def dump_argv(pg_dump, conn, dbname, fmt, output):
    """pg_dump writing ``output`` itself (``--file``): its exit status is pg_dump's, with no shell pipe
    to lose it. plain_gz is pg_dump's own gzip of the plain script (``-Fp -Z``), a real .sql.gz."""
    argv = [pg_dump]
    if fmt == 'custom':
        argv.append('--format=custom')
    elif fmt == 'plain_gz':
        argv.extend(['--format=plain', '--compress=%d' % GZIP_LEVEL])
    else:
        extension(fmt)  # raises ValueError
    return argv + conn_argv(conn, dbname) + ['--file', output]


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as src:
        while True:
            block = src.read(FEED_BLOCK)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def plan_backup(directory, prefix, fmt, label, now):
    """Where the next backup goes (no I/O but an existence check)."""
    name = backup_name(prefix, fmt, now, label)
    return {'name': name, 'path': os.path.join(directory, name)}


def take_backup(run_command, pg_dump, conn, dbname, directory, prefix, fmt, label=None, now=None, sleep=None,
                mode=0o600, tmpdir=None):
    """Dump ``dbname`` into ``directory`` atomically; returns path, name, size, sha256, format, label, command.

    The dump goes to a hidden temporary name in the same directory (so the runbooks' globs do not see
    it, and the rename cannot cross file systems), created 0600 before pg_dump opens it; only when
    pg_dump exits 0 and wrote something is it linked to its final name (``link`` refuses to replace an
    existing backup; the stamp then moves to the next second) and the temporary name removed. Any failure
    removes the temporary file and raises BackupError."""
    now = now or datetime.datetime.now
    sleep = sleep or time.sleep
    if not os.path.isdir(directory):
        raise BackupError('dump', 'backup directory %s does not exist' % directory)
    label = check_label(label)
    started = time.time()
    tmp = os.path.join(directory, '.tgops-backup-%s.tmp' % binascii.hexlify(os.urandom(6)).decode('ascii'))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.close(fd)
    final = None
    try:
        argv = dump_argv(pg_dump, conn, dbname, fmt, tmp)
        with PassFile(conn.get('password'), tmpdir=tmpdir) as passfile:
            rc, out, err = run_command(argv, environ_update=passfile.environ(conn.get('env')))
        if rc != 0:
            raise BackupError('dump', 'pg_dump of %s exited with status %d: %s' % (dbname, rc, _err_text(out, err)),
                              rc=rc)
        size = os.path.getsize(tmp)
        if size == 0:
            raise BackupError('dump', 'pg_dump of %s exited 0 but wrote nothing' % dbname)
        os.chmod(tmp, mode)
        with open(tmp, 'rb') as src:
            os.fsync(src.fileno())
        digest = sha256_file(tmp)
        for _attempt in range(3):
            plan = plan_backup(directory, prefix, fmt, label, now())
            try:
                os.link(tmp, plan['path'])
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise BackupError('rename', 'cannot move the dump to %s: %s' % (plan['path'], exc))
                sleep(1.0)  # same second as an existing backup: take the next second's name
                continue
            final = plan
            break
        if final is None:
            raise BackupError('rename', 'a backup named %s already exists' % plan['name'])
        os.unlink(tmp)
        _fsync_dir(directory)
        return {'path': final['path'], 'name': final['name'], 'size': size, 'sha256': digest, 'format': fmt,
                'label': label, 'command': argv[:-1] + [final['path']],
                'duration_seconds': round(time.time() - started, 3)}
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------------------------------------------------
# Restore

def detect_format(path):
    """``custom`` (PGDMP magic), ``plain_gz`` (gzip around a SQL script), ``plain`` (SQL text); BackupError
    for anything else, including a gzipped custom archive (pg_restore cannot read it from a pipe)."""
    with open(path, 'rb') as src:
        head = src.read(5)
    if head.startswith(b'PGDMP'):
        return 'custom'
    if head[:2] == b'\x1f\x8b':
        try:
            with gzip.open(path, 'rb') as src:
                inner = src.read(5)
        except (IOError, OSError, EOFError) as exc:
            raise BackupError('format', '%s: not a readable gzip file: %s' % (path, exc))
        if inner.startswith(b'PGDMP'):
            raise BackupError('format', '%s is a gzip-compressed custom archive: gunzip it first' % path)
        return 'plain_gz'
    if not head:
        raise BackupError('format', '%s is empty' % path)
    try:
        head.decode('utf-8')
    except UnicodeDecodeError:
        raise BackupError('format', '%s is neither a pg_dump archive nor SQL' % path)
    return 'plain'


class GzipFifoFeeder(object):
    """Writes the decompressed content of ``path`` into the FIFO ``fifo`` from a thread, for a client to read.

    ``run_command(data=...)`` would hold the whole dump in memory and ``gunzip -c | psql`` would need a shell.
    The FIFO is opened non-blocking and retried until the client opens it, so a client that fails before
    reading (wrong password, server down) never leaves the thread blocked; a client that stops reading
    (ON_ERROR_STOP) ends it with EPIPE. It stops once the whole stream is written, or when ``finish()`` is
    called (the client has exited). Only ``psql`` reads a FIFO: ``pg_restore`` opens its input twice (format
    detection, then reading), which a pipe cannot serve."""

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
        return self

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


class GzipFifo(object):
    """``with GzipFifo(path, tmpdir) as fifo:`` a FIFO (0600, in a private directory) that a GzipFifoFeeder
    fills with the decompressed ``path``; ``fifo.path`` goes to the client, ``fifo.feeder`` says how it went.
    On exit the feeder is stopped and the directory removed."""

    def __init__(self, path, tmpdir=None):
        self.source = path
        self.tmpdir = tmpdir
        self.workdir = None
        self.path = None
        self.feeder = None

    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix='tgops-restore-', dir=self.tmpdir)
        try:
            os.chmod(self.workdir, 0o700)
            self.path = os.path.join(self.workdir, 'backup.pipe')
            os.mkfifo(self.path, 0o600)
            self.feeder = GzipFifoFeeder(self.source, self.path).start()
        except BaseException:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc):
        if self.feeder is not None:
            self.feeder.finish()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return False


def psql_argv(psql, conn, dbname, sql, tuples_only=False):
    argv = [psql, '-X', '-q', '-v', 'ON_ERROR_STOP=1']
    if tuples_only:
        argv.extend(['-A', '-t'])
    return argv + conn_argv(conn, dbname) + ['--command', sql]


def restore_argv(bins, conn, dbname, fmt, input_path, single_transaction=True, no_owner=False):
    """Exit-on-error restore: ``pg_restore --exit-on-error`` or ``psql -v ON_ERROR_STOP=1``, in a single
    transaction by default (a failure leaves an empty database, never a half-restored one)."""
    if fmt == 'custom':
        argv = [bins['pg_restore'], '--exit-on-error']
        if single_transaction:
            argv.append('--single-transaction')
        if no_owner:
            argv.append('--no-owner')
        return argv + conn_argv(conn, dbname) + [input_path]
    argv = [bins['psql'], '-X', '-q', '-v', 'ON_ERROR_STOP=1']
    if single_transaction:
        argv.append('--single-transaction')
    return argv + conn_argv(conn, dbname) + ['--file', input_path]


def restore_plan(bins, conn, dbname, owner, fmt, path, maintenance_db='postgres', single_transaction=True,
                 no_owner=False):
    """The argv lists a restore runs, in order (what check mode shows)."""
    create = 'CREATE DATABASE %s TEMPLATE template0' % quote_ident(dbname)
    if owner:
        create += ' OWNER %s' % quote_ident(owner)
    source = path if fmt != 'plain_gz' else '<fifo: gunzip %s>' % path
    return [
        ('drop', psql_argv(bins['psql'], conn, maintenance_db,
                           'DROP DATABASE IF EXISTS %s WITH (FORCE)' % quote_ident(dbname))),
        ('create', psql_argv(bins['psql'], conn, maintenance_db, create)),
        ('restore', restore_argv(bins, conn, dbname, fmt, source, single_transaction, no_owner)),
    ]


def compare_row_counts(expected, actual):
    """Tables whose restored count differs from the backup's; ``expected``/``actual`` map table -> count."""
    mismatched = []
    for table in sorted(expected):
        want = expected[table]
        got = actual.get(table)
        if got is None or int(want) != int(got):
            mismatched.append('%s: %s rows in the backup, %s after the restore'
                              % (table, want, 'not counted' if got is None else got))
    return mismatched


def restore_database(run_command, bins, conn, dbname, path, owner=None, maintenance_db='postgres',
                     single_transaction=True, no_owner=False, expected_row_counts=None, tmpdir=None):
    """Drop ``dbname``, create it again and restore ``path`` into it, then count rows.

    Returns a report (format, commands, row_counts, dropped, duration_seconds). Raises BackupError with
    ``stage`` and ``dropped`` (whether the database was already dropped: the caller must put it back)."""
    fmt = detect_format(path)
    steps = restore_plan(bins, conn, dbname, owner, fmt, path, maintenance_db, single_transaction, no_owner)
    report = {'format': fmt, 'commands': [], 'row_counts': {}, 'dropped': False}
    started = time.time()
    with PassFile(conn.get('password'), tmpdir=tmpdir) as passfile:
        env = passfile.environ(conn.get('env'))

        def run(stage, argv):
            report['commands'].append(list(argv))
            rc, out, err = run_command(argv, environ_update=env)
            if rc != 0:
                raise BackupError(stage, '%s failed (rc=%d): %s' % (stage, rc, _err_text(out, err)),
                                  dropped=report['dropped'], report=report)
            return out

        run('drop', steps[0][1])
        report['dropped'] = True
        run('create', steps[1][1])
        if fmt == 'plain_gz':
            with GzipFifo(path, tmpdir) as fifo:
                run('restore', restore_argv(bins, conn, dbname, fmt, fifo.path, single_transaction, no_owner))
                fifo.feeder.finish()
                if not fifo.feeder.complete:
                    raise BackupError('restore', 'psql did not read the whole backup: %s'
                                      % (fifo.feeder.error or 'pipe not read to its end'), dropped=True,
                                      report=report)
        else:
            run('restore', restore_argv(bins, conn, dbname, fmt, path, single_transaction, no_owner))
        for table in sorted(expected_row_counts or {}):
            out = run('count', psql_argv(bins['psql'], conn, dbname, 'SELECT count(*) FROM %s' % quote_ident(table),
                                         tuples_only=True))
            try:
                report['row_counts'][table] = int(out.strip().splitlines()[-1])
            except (ValueError, IndexError):
                raise BackupError('count', 'unexpected count for %s: %r' % (table, out[:200]), dropped=True,
                                  report=report)
    report['duration_seconds'] = round(time.time() - started, 3)
    mismatched = compare_row_counts(expected_row_counts or {}, report['row_counts'])
    if mismatched:
        raise BackupError('verify', 'row counts differ from the backup: %s' % '; '.join(mismatched), dropped=True,
                          report=report)
    return report
