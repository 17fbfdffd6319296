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
import hmac
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


def retention_plan(backups, now, keep=7, keep_days=7, protect=()):
    """Split ``backups`` (list_named_backups() output) into kept and removed paths.

    Only unlabelled (scheduled or manual) backups are subject to the daily policy; labelled ones such as
    ``pre_deployment`` are kept for their own cleanup. A daily backup is kept when it is one of the newest
    ``keep`` daily backups or at most ``keep_days`` days old (the name's stamp, the host's local time, not
    the mtime, which a copy or a download from S3 changes). With ``keep`` and ``keep_days`` both None nothing
    is removed. ``keep`` is at least 1: a policy that keeps no backup at all is refused (ValueError), not
    applied; with ``keep`` None the newest daily backup is kept all the same. This is the collection's one
    retention policy: backup_retention applies it, backup_verify's O(retention) previews it. Paths in
    ``protect`` (the backup just taken and verified) are always kept, whatever their stamp: a file planted
    with a stamp in the future must not push the newest verified backup out of the newest ``keep``. Returns
    ``{'remove': [...], 'keep': [...], 'labelled': [...]}`` (paths)."""
    for name, value in (('keep', keep), ('keep_days', keep_days)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError('%s must be a whole number, got %r' % (name, value))
    if keep is not None and keep < 1:
        raise ValueError('keep must be at least 1 (the newest backups always kept), got %d' % keep)
    if keep_days is not None and keep_days < 0:
        raise ValueError('keep_days must be 0 or more, got %d' % keep_days)
    protect = set(protect or ())
    plan = {'remove': [], 'keep': [], 'labelled': []}
    daily = [b for b in backups if not b['label']]
    plan['labelled'] = [b['path'] for b in backups if b['label']]
    for index, backup in enumerate(daily):
        # the newest daily backup is never removed, whatever the policy (keep=None, keep_days=0 included)
        kept = index == 0 or (keep is None and keep_days is None) or backup['path'] in protect
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
# Naming, pinning and authenticating the backup a restore reads

HMAC_CONTEXT = b'tgops.runbooks backup hmac-sha256 v1\n'
SHA256_RE = re.compile(r'^[0-9a-f]{64}$')


def check_backup_name(name):
    """None if ``name`` is a plain file name (a backup is named by its name in the backup directory), else why
    not: no ``/`` (no absolute path, no ``../``), not ``.`` or ``..``, no control characters."""
    if not isinstance(name, str) or not name:
        return 'a backup is named by its file name in the backup directory, got %r' % (name,)
    if '/' in name or name in ('.', '..') or any(ord(char) < 32 or ord(char) == 127 for char in name):
        return ('%r is not a file name in the backup directory: name the backup by its file name alone (no "/", '
                'no "..", no absolute path, no control characters)' % (name[:200],))
    return None


def backup_hmac(key, name, sha256):
    """HMAC-SHA256 keyed by ``key`` (a vault secret) of the backup's file name and SHA-256 (64 hex digits).

    An off-site copy carries it in its metadata: whoever can write the bucket can replace the object and rewrite
    its ``sha256`` metadata, but cannot compute this without the key. The name is inside so that a genuine older
    backup cannot be served under a newer backup's name."""
    if not key:
        raise ValueError('the HMAC key is empty')
    if not isinstance(sha256, str) or not SHA256_RE.match(sha256.lower()):
        raise ValueError('sha256 %r is not 64 hexadecimal digits' % (sha256,))
    problem = check_backup_name(name)
    if problem:
        raise ValueError(problem)
    message = HMAC_CONTEXT + name.encode('utf-8') + b'\n' + sha256.lower().encode('ascii') + b'\n'
    return hmac.new(key.encode('utf-8'), message, hashlib.sha256).hexdigest()


def hmac_problem(key, name, sha256, expected):
    """None when ``expected`` is backup_hmac(key, name, sha256), else why not (never the key or the right HMAC)."""
    if not key:
        return 'no HMAC key: set the off-site backup key (platform_backup_hmac_key, a vault secret)'
    if not expected:
        return '%s carries no HMAC: it was not uploaded by tgops.runbooks with the backup key' % name
    try:
        want = backup_hmac(key, name, sha256)
    except ValueError as exc:
        return '%s: %s' % (name, exc)
    if not hmac.compare_digest(want, str(expected).strip().lower()):
        return ('%s: the HMAC does not match its name and sha256 %s: the object or its metadata was changed '
                'after the upload, or it was signed with another key' % (name, sha256))
    return None


def open_backup(path):
    """The backup ``path`` opened read-only, the path itself: a symbolic link (followed by nothing here) or
    anything other than a regular file is refused with BackupError stage ``name``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BackupError('name', '%s is a symbolic link: a backup must be a regular file in the backup '
                              'directory' % path)
        raise BackupError('name', 'cannot open the backup %s: %s' % (path, exc.strerror or exc))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BackupError('name', '%s is not a regular file' % path)
        return os.fdopen(fd, 'rb')
    except BaseException:
        os.close(fd)
        raise


def pin_backup(path, expected_sha256=None, hmac_key=None, expected_hmac=None):
    """Check ``path`` before anything reads it for a restore and fingerprint it.

    With ``hmac_key``/``expected_hmac`` (an off-site copy) the HMAC of the name and ``expected_sha256`` is
    checked first, then every byte against ``expected_sha256``. Returns path, name, sha256 and size: the pin
    that verification and restore compare with. BackupError stage ``name``, ``authenticate`` or ``pin``."""
    name = os.path.basename(path)
    if hmac_key is not None or expected_hmac is not None:
        problem = hmac_problem(hmac_key, name, expected_sha256, expected_hmac)
        if problem:
            raise BackupError('authenticate', problem)
    digest = hashlib.sha256()
    size = 0
    with open_backup(path) as src:
        while True:
            block = src.read(FEED_BLOCK)
            if not block:
                break
            digest.update(block)
            size += len(block)
    sha256 = digest.hexdigest()
    if expected_sha256 and sha256 != expected_sha256.strip().lower():
        raise BackupError('pin', '%s: sha256 %s differs from the expected %s' % (path, sha256, expected_sha256))
    return {'path': path, 'name': name, 'sha256': sha256, 'size': size}


def pinned_copy(path, workdir, expected_sha256=None):
    """Copy ``path`` into the private ``workdir`` while hashing it; returns ``(copy, sha256)``.

    A client reads the copy, never ``path``: whoever can write the backup directory could otherwise replace the
    file between its verification and its restore, and psql runs a script as it reads it (a hash checked at
    the end would come too late). BackupError stage ``pin`` when the bytes are not ``expected_sha256``."""
    copy = os.path.join(workdir, 'backup')
    digest = hashlib.sha256()
    with open_backup(path) as src:
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as out:
            while True:
                block = src.read(FEED_BLOCK)
                if not block:
                    break
                digest.update(block)
                out.write(block)
    sha256 = digest.hexdigest()
    if expected_sha256 and sha256 != expected_sha256.strip().lower():
        raise BackupError('pin', '%s changed since it was verified: its sha256 is now %s, the verified one %s'
                          % (path, sha256, expected_sha256))
    return copy, sha256


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


# psql learned \restrict (restricted mode: every meta-command but the matching \unrestrict refused) in the
# August 2025 minor releases; any 18 has it.
RESTRICT_SINCE = {13: 22, 14: 19, 15: 14, 16: 10, 17: 6}
RESTRICT_RELEASES = '13.22, 14.19, 15.14, 16.10, 17.6 or 18'
PSQL_VERSION_RE = re.compile(r'\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?')


def psql_version(run_command, psql):
    """``(major, minor)`` of ``psql --version``, or None when it cannot be told. A restore asks once, before its
    first step; the call is not one of its commands."""
    try:
        rc, out, dummy = run_command([psql, '--version'])
    except (IOError, OSError):
        return None
    match = PSQL_VERSION_RE.search(out or '') if rc == 0 else None
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None


def restrict_supported(version):
    """Whether a psql of ``version`` (psql_version()) knows \\restrict."""
    if not version:
        return False
    major, minor = version
    return major >= 18 or (major in RESTRICT_SINCE and minor >= RESTRICT_SINCE[major])


def restrict_warning(psql, version):
    """The warning for a plain restore by a psql without \\restrict (None when it has it)."""
    if restrict_supported(version):
        return None
    what = ('%s is version %d.%d, older than' % ((psql,) + tuple(version)) if version else
            'the version of %s could not be told (psql --version), so it is taken as older than' % psql)
    return ('%s the releases with restricted mode (\\restrict: psql %s): the plain dump is streamed only as far as '
            'the verifier judged it, but psql itself will not refuse a meta-command the verifier could not see; '
            'upgrade the PostgreSQL client' % (what, RESTRICT_RELEASES))


def gzip_blocks(path):
    """The decompressed content of the gzip file ``path``, block by block."""
    with gzip.open(path, 'rb') as src:
        while True:
            block = src.read(FEED_BLOCK)
            if not block:
                return
            yield block


class FifoFeeder(object):
    """Writes the blocks of ``source()`` (a callable returning an iterable of bytes, called at each open) into the
    FIFO ``fifo`` from a thread, for a client to read.

    ``run_command(data=...)`` would hold the whole dump in memory and ``gunzip -c | psql`` would need a shell.
    The FIFO is opened non-blocking and retried until the client opens it, so a client that fails before
    reading (wrong password, server down) never leaves the thread blocked; a client that stops reading
    (ON_ERROR_STOP) ends it with EPIPE. It stops once the whole stream is written, when ``finish()`` is
    called (the client has exited), or when the source raises: then nothing more is written, the pipe is
    closed and ``refused`` holds the exception (a plain dump's refused meta-command, never handed to the
    client). Only ``psql`` reads a FIFO: ``pg_restore`` opens its input twice (format detection, then
    reading), which a pipe cannot serve."""

    def __init__(self, source, fifo, max_opens=1):
        self.source = source
        self.fifo = fifo
        self.max_opens = max_opens
        self.stop = threading.Event()
        self.error = None
        self.refused = None
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
        while self.opens < self.max_opens and not self.complete and self.refused is None:
            fd = self._open()
            if fd is None:
                return
            self.opens += 1
            self.error = None
            self.bytes_written = 0
            blocks = None
            try:
                os.set_blocking(fd, True)
                with os.fdopen(fd, 'wb') as out:
                    fd = None
                    blocks = iter(self.source())
                    while True:
                        try:
                            block = next(blocks)
                        except StopIteration:
                            break
                        except Exception as exc:  # pylint: disable=broad-except
                            # the source refused what follows (or could not read it): the client gets no more
                            self.refused = exc
                            self.error = 'stopped after %d bytes: %s' % (
                                self.bytes_written, getattr(exc, 'message', None) or exc)
                            return
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
                if blocks is not None and hasattr(blocks, 'close'):
                    blocks.close()
                if fd is not None:
                    os.close(fd)

    def finish(self, timeout=30):
        self.stop.set()
        self.thread.join(timeout)


class GzipFifoFeeder(FifoFeeder):
    """A FifoFeeder of the decompressed gzip file ``path``."""

    def __init__(self, path, fifo, max_opens=1):
        super(GzipFifoFeeder, self).__init__(lambda: gzip_blocks(path), fifo, max_opens)
        self.path = path


class StreamFifo(object):
    """``with StreamFifo(source, tmpdir) as fifo:`` a FIFO (0600, in a private directory) that a FifoFeeder
    fills with the blocks of ``source()``; ``fifo.path`` goes to the client, ``fifo.feeder`` says how it went.
    On exit the feeder is stopped and the directory removed."""

    def __init__(self, source, tmpdir=None):
        self.source = source
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
            self.feeder = FifoFeeder(self.source, self.path).start()
        except BaseException:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc):
        if self.feeder is not None:
            self.feeder.finish()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return False


class GzipFifo(StreamFifo):
    """A StreamFifo of the decompressed gzip file ``path`` (raw bytes, unjudged: a restore feeds psql a
    vetted stream instead)."""

    def __init__(self, path, tmpdir=None):
        super(GzipFifo, self).__init__(lambda: gzip_blocks(path), tmpdir)


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
    # plain SQL reaches psql only through a FIFO fed with the vetted stream (see restore_database)
    source = path if fmt == 'custom' else '<fifo: vetted %s>' % path
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
                     single_transaction=True, no_owner=False, expected_row_counts=None, tmpdir=None,
                     expected_sha256=None, plain_source=None):
    """Drop ``dbname``, create it again and restore ``path`` into it, then count rows.

    ``path`` is first copied into a private directory under ``tmpdir`` while its SHA-256 is computed; with
    ``expected_sha256`` (the pin its verification returned) a different file stops everything before the drop
    (BackupError stage ``pin``, the database untouched). Only that copy reaches the client.

    Plain SQL (``.sql``, ``.sql.gz``) needs ``plain_source(copy, restrict)``: an iterable of the bytes psql may
    read (``_backup_restore.vetted_source``: only what the verifier judged, under a fresh ``\\restrict`` key when
    ``restrict``), which raises at a meta-command. The whole copy is judged once before the drop (BackupError
    stage ``content``, the database untouched), then streamed again to psql through a FIFO - never ``--file``
    of the backup. ``restrict`` is set when ``psql --version`` is a release with restricted mode; otherwise
    ``report['warnings']`` says so.

    Returns a report (format, sha256, size, commands, row_counts, dropped, duration_seconds, warnings). Raises
    BackupError with ``stage`` and ``dropped`` (whether the database was already dropped: the caller must put it
    back)."""
    report = {'format': None, 'sha256': None, 'size': None, 'commands': [], 'row_counts': {}, 'dropped': False,
              'warnings': []}
    workdir = tempfile.mkdtemp(prefix='tgops-restore-', dir=tmpdir)
    try:
        os.chmod(workdir, 0o700)
        try:
            source, report['sha256'] = pinned_copy(path, workdir, expected_sha256)
        except BackupError as exc:
            raise BackupError(exc.stage, exc.message, dropped=False, report=report)
        except (IOError, OSError) as exc:
            raise BackupError('pin', 'cannot copy %s into the private directory %s: %s' % (path, workdir, exc),
                              dropped=False, report=report)
        report['size'] = os.path.getsize(source)
        try:
            report['format'] = fmt = detect_format(source)
        except BackupError as exc:
            raise BackupError('format', exc.message.replace(source, path), dropped=False, report=report)
        restrict = False
        if fmt != 'custom':
            version = psql_version(run_command, bins['psql'])
            restrict = restrict_supported(version)
            if not restrict:
                report['warnings'].append(restrict_warning(bins['psql'], version))
            # judged as it will be streamed: under \restrict a \connect (pg_dump -C) is refused here, not after the drop
            _judge_plain(plain_source, source, path, report, restrict)
        _restore_pinned(run_command, bins, conn, dbname, source, fmt, owner, maintenance_db, single_transaction,
                        no_owner, expected_row_counts, tmpdir, report, plain_source, restrict)
        return report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _judge_plain(plain_source, source, path, report, restrict):
    """Read the whole vetted stream of the private copy once, before anything is dropped."""
    if plain_source is None:
        raise BackupError('content', 'a plain SQL restore needs a vetting source (plain_source): refusing to hand '
                                     'psql bytes nobody judged', dropped=False, report=report)
    try:
        for dummy in plain_source(source, restrict):
            pass
    except Exception as exc:  # pylint: disable=broad-except
        # BackupCheckError (a meta-command, an incomplete dump) or the copy cannot be read
        raise BackupError('content', '%s cannot be handed to psql: %s' % (
            path, (getattr(exc, 'message', None) or str(exc)).replace(source, path)), dropped=False, report=report)


def _restore_pinned(run_command, bins, conn, dbname, source, fmt, owner, maintenance_db, single_transaction,
                    no_owner, expected_row_counts, tmpdir, report, plain_source=None, restrict=False):
    if fmt == 'custom' and not bins.get('pg_restore'):
        raise BackupError('format', 'a custom archive needs pg_restore, which was not found', dropped=False,
                          report=report)
    steps = restore_plan(bins, conn, dbname, owner, fmt, source, maintenance_db, single_transaction, no_owner)
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
        if fmt == 'custom':
            run('restore', restore_argv(bins, conn, dbname, fmt, source, single_transaction, no_owner))
        else:
            with StreamFifo(lambda: plain_source(source, restrict), tmpdir) as fifo:
                try:
                    run('restore', restore_argv(bins, conn, dbname, fmt, fifo.path, single_transaction, no_owner))
                finally:
                    fifo.feeder.finish()
                if fifo.feeder.refused is not None:
                    # judged before the drop, so only a copy changed behind this process gets here
                    raise BackupError('restore', 'the backup was refused while psql read it, which got nothing '
                                                 'past this: %s' % fifo.feeder.error, dropped=True, report=report)
                if not fifo.feeder.complete:
                    raise BackupError('restore', 'psql did not read the whole backup: %s'
                                      % (fifo.feeder.error or 'pipe not read to its end'), dropped=True,
                                      report=report)
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
