#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: backup_verify
short_description: Verify PostgreSQL backups byte for byte, optionally by a test restore
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Verifies a PostgreSQL backup on the host where it lives, for both runbooks' styles - the C(pg_dump -Fc)
    custom-format archive of tgquiz (C(backup_YYYYMMDD_HHMMSS.dump)) and the gzipped plain SQL of toogoodtogo
    (C(toogoodtogo_YYYYMMDD_HHMMSS.sql.gz)); uncompressed plain SQL too. The format is detected from the content
    (C(PGDMP) magic, gzip magic C(1f 8b), SQL text), not from the file name.
  - Reads the whole file once, in fixed-size blocks with constant memory, and in that single pass computes its
    SHA-256 and checks the integrity of every byte - every gzip member is decompressed and its CRC-32 and length
    trailer checked; a custom archive is parsed by the module itself (header, table of contents, then every
    data block to the end of the file, decompressing each zlib stream and checking its Adler-32).
    C(pg_restore --list) only reads the table of contents and passes on a truncated or corrupt archive.
  - Each check is reported separately in RV(checks) - C(readable), C(size), C(age), C(integrity),
    C(completeness) (plain dump trailer C(-- PostgreSQL database dump complete); every TOC entry with data
    has its data block), C(expected_tables), C(checksum) (with O(expected_sha256)), and with O(restore_test)
    C(restore) and C(restore_min_rows).
  - A failed check fails the task with a message naming the check and where the problem is (byte offset,
    TOC entry, table), unless O(fail_on_problem=false).
  - O(restore_test=true) restores the backup into a throwaway database, with exit-on-error semantics, counts
    rows of named tables and drops the database again even when the restore fails.
  - O(retention) lists every backup matching O(pattern) and which ones a keep-N / keep-days policy would
    remove. This module never deletes anything.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._postgres
  - tgops.runbooks._postgres.maintenance_db
attributes:
  check_mode:
    support: partial
    details:
      - Every file check and the retention view run in check mode as in a normal run.
      - The restore test creates and drops a scratch database on the server, so it is skipped in check mode
        (reported in RV(restore)).
  diff_mode:
    support: N/A
    details:
      - This module does not modify the backup or any other file.
  idempotent:
    support: full
    details:
      - Always reports RV(ignore:changed=false); the scratch database of a restore test is dropped again.
options:
  path:
    description:
      - A backup file, or a directory in which the newest file matching O(pattern) is verified.
      - The file must be a regular file - a symbolic link (as the file, or as a match in the directory, which is
        left out with a warning) is refused, never followed, and so are pipes and devices. The directory itself
        may be reached through a link.
    type: path
    required: true
  pattern:
    description:
      - Shell glob of backup file names in the directory O(path), for example V(backup_*.dump) or
        V(toogoodtogo_*.sql.gz). The newest match (by modification time) is verified.
      - Required when O(path) is a directory, and for O(retention).
    type: str
  min_size:
    description:
      - Smallest acceptable file size in bytes. A C(pg_dump | gzip) that failed without C(pipefail) leaves
        a 20-byte file. Cannot be negative.
    type: int
    default: 1
  max_age:
    description:
      - Oldest acceptable backup, by modification time. Seconds, or a string with units
        C(s), C(m), C(h), C(d), C(w) such as V(26h), V(7d) or V(1d12h).
      - Unset, age is reported but not judged. Negative, infinite and NaN values are rejected.
    type: raw
  expected_tables:
    description:
      - Tables that must be in the backup. A bare name such as V(users) matches it in any schema;
        V(public.users) only in that schema.
      - Plain dumps - tables named by C(CREATE TABLE) or C(COPY); custom archives - TOC entries
        C(TABLE) and C(TABLE DATA).
    type: list
    elements: str
    default: []
  expected_sha256:
    description:
      - SHA-256 the file must have, for example recorded when the backup was taken. The only way to detect
        a changed byte in uncompressed data (plain C(.sql), C(pg_dump -Fc -Z0)), which carries no checksum.
    type: str
  require_data:
    description:
      - Require content - the check C(content) fails unless the backup defines at least one table and holds
        the data of at least one (a custom archive's C(TABLE DATA) block; a plain dump's C(COPY) or C(INSERT)).
        An empty table counts - its data section is there, with no rows.
      - A custom archive with no TOC entries, or a plain file holding only the C(-- PostgreSQL database dump
        complete) trailer, is a well-formed backup of nothing and fails by default.
      - Set V(false) for schema-only dumps (C(pg_dump --schema-only)) or a database without tables.
    type: bool
    default: true
  max_ratio:
    description:
      - Bound of the decompressed data - the gzip stream and a custom archive's zlib data blocks together may
        put out at most this many times the file's size (never less than 256 MiB, so a small dump of very
        repetitive rows passes). Reading stops there and C(integrity) fails, naming the bound.
      - A decompression bomb (about 1000:1 for gzip, a million to one for a gzipped archive of zlib blocks) would
        otherwise cost hours; a pg_dump of real data compresses about 3:1 to 10:1. The work of a check is then
        at most this many times the reading of an uncompressed file of the same size.
      - V(0) turns this bound off. Negative, infinite and NaN values are rejected.
    type: float
    default: 100
  max_decompressed_size:
    description:
      - Absolute bound of the decompressed data (the same count as O(max_ratio)), in bytes or with a unit such as
        V(500M), V(64G) or V(2T) (powers of 1024). The lower of the two bounds applies.
      - Unset, only O(max_ratio) bounds it.
    type: raw
  count_rows:
    description:
      - Count COPY rows per table while reading (plain dumps, and custom archives with zlib or no compression).
    type: bool
    default: true
  fail_on_problem:
    description:
      - Fail the task when any check fails. V(false) returns RV(passed=false) and RV(findings) instead.
      - Defaults to V(true) because this is a check action (see the notes); the C(_info) modules default to V(false).
    type: bool
    default: true
  restore_test:
    description:
      - Restore the backup into a new database named O(restore_db_prefix) plus random characters, with
        C(pg_restore --exit-on-error --no-owner) (custom archives) or C(psql -X -q -v ON_ERROR_STOP=1) (plain
        SQL), then count the rows of the tables in O(restore_min_rows), then drop the database, also when the
        restore failed.
      - Runs only when the file checks passed. Needs C(psql) (and C(pg_restore) for custom archives) on the
        host, and a role that may create databases. The connection options are below.
      - A gzipped dump is decompressed by the module into a named pipe that C(psql) or C(pg_restore) reads,
        so nothing is held in memory or written to disk.
      - C(psql) never reads a plain dump itself - it reads, through a named pipe, only the bytes the verifier
        judged (a refused line stops the stream before any byte of it), under a fresh C(\restrict) key the dump
        cannot end when C(psql) supports it (13.22, 14.19, 15.14, 16.10, 17.6, 18 and later); an older C(psql)
        gets the vetted bytes without it and a warning.
    type: bool
    default: false
  restore_min_rows:
    description:
      - Table names mapped to the smallest row count each must have after the restore test (see the examples).
      - A bare name such as V(users) is looked up through the restored database's C(search_path).
    type: dict
    default: {}
  restore_db_prefix:
    description:
      - Name prefix of the scratch database of the restore test - 1 to 41 characters, a lower-case letter or
        C(_) first, then lower-case letters, digits or C(_). Anything else is rejected.
      - Every database name (this one and O(maintenance_db)) goes to C(psql) and C(pg_restore) as the quoted
        value of a C(dbname=) connection string, so it can never be read as a connection string itself.
    type: str
    default: tgops_verify_
  bin_dir:
    description:
      - Directory of the PostgreSQL client programs when they are not on E(PATH), for example
        V(/usr/lib/postgresql/15/bin).
    type: path
  retention:
    description:
      - Report the backups in the directory O(path) matching O(pattern) (RV(backups)), and the ones
        M(tgops.runbooks.backup_retention) would remove with the same O(retention.prefix), O(retention.format),
        O(retention.keep) and O(retention.keep_days) (RV(would_remove)); the policy is that module's, so the
        preview and the clean-up always agree. Nothing is deleted.
      - Only daily backups named C(<prefix>_YYYYMMDD_HHMMSS.<ext>) are subject to it, judged by the stamp in their
        name (not the mtime, which a copy changes); labelled ones (C(pre_deployment)) are never listed.
      - A daily backup is kept when it is one of the newest O(retention.keep) or at most O(retention.keep_days)
        days old. The toogoodtogo runbook keeps 7 days (C(keep_days=7)) and all but the last 7 go (C(keep=7)).
      - The newest daily backup is never listed for removal, whatever the policy.
      - Files whose names are not valid UTF-8 are left out of RV(backups) (and are never verified), with a
        warning that shows their bytes.
    type: dict
    suboptions:
      prefix:
        description:
          - File name prefix of the backups, as the O(tgops.runbooks.backup_retention#module:prefix) of
            M(tgops.runbooks.backup_retention).
        type: str
        required: true
      format:
        description: Backup format, which gives the extension (V(custom) C(.dump), V(plain_gz) C(.sql.gz)).
        type: str
        choices: [custom, plain_gz]
        default: custom
      keep:
        description: Keep the newest this many backups; at least 1.
        type: int
      keep_days:
        description: Keep backups younger than this many days; at least 0.
        type: int
notes:
  - Decompresses with ISA-L when the host's Python can import the package C(isal) (the roles' option
    C(backup_verify_install_isal) installs it), with zlib otherwise; the result is the same but for
    RV(decompressor), and ISA-L inflates about 2.5 times as fast (docs/performance.md).
  - A bit flip in uncompressed data (plain C(.sql) or a C(-Z0) custom archive) cannot be detected without a
    known checksum; use O(expected_sha256) or a compressed format.
  - Custom archives compressed with lz4 or zstd (PostgreSQL 16 and later) are read to the end block by block,
    but their content is not decompressed (only zlib is available); the module warns about it.
  - The module's reader knows custom archive versions 1.12 to 1.16 (C(pg_dump) of PostgreSQL 9.5 to 18). An
    archive of another version is read by C(pg_restore --list) instead (from O(bin_dir) or the C(PATH)), and the
    checks pass on its table of contents; RV(archive) says so (C(read_by)), the data blocks are neither read nor decompressed
    (O(restore_test=true) restores them) and the module warns. Without C(pg_restore), C(integrity) fails and says
    why.
  - Tar and directory format archives are not supported.
  - Plain dumps are read with psql's rules for strings, quoted identifiers, dollar quoting and comments, in
    linear time; a dump with CRLF line endings (which pg_dump never writes - the file was converted as text,
    which also changes multi-line values) fails C(integrity).
  - When C(integrity) fails on a structural error (wrong magic, a corrupt length), reading stops there, so
    RV(sha256) is not computed; a 30 GB file with a bad header is not read to its end.
  - The file checks' work is bounded by O(max_ratio) and O(max_decompressed_size) (a decompression bomb fails
    C(integrity) instead of running for hours). The restore test has no timeout of its own; bound it with the
    task keyword C(timeout).
  - Not named C(backup_verify_info) - it is a check action whose purpose is to stop the play on a bad backup
    (hence O(fail_on_problem=true) by default), and its restore test creates and drops a scratch database;
    C(_info) modules only read and never fail on their verdict by default. The collection's vocabulary is in
    C(docs/module-vocabulary.md).
  - Plain dumps written by pg_dump 17.6, 16.10, 15.14, 14.19, 13.22 or later begin with a C(\restrict) line that
    older C(psql) cannot run; restore-test them with a C(psql) at least as new (O(bin_dir)).
  - A plain dump is fed to C(psql), which runs a backslash command wherever its lexer meets one outside literals,
    quoted names, dollar quotes, comments and COPY data (C(\!) runs a shell command). C(integrity) fails, naming
    the line and the command, on every one but pg_dump's own - a matching C(\restrict KEY) / C(\unrestrict KEY)
    pair, and with C(pg_dump --create) a C(\connect) (after C(\encoding SQL_ASCII) for a quoted name) to a database
    the dump creates before it - and on text C(psql) could split differently - a quote after an odd number of
    backslashes in a string literal that is not C(E'...'), or C(SET client_encoding) to an encoding such as SJIS.
seealso:
  - name: pg_dump custom format
    description: The archive format this module parses.
    link: https://www.postgresql.org/docs/current/app-pgdump.html
  - name: community.postgresql.postgresql_db
    description: Dump and restore without verification; a plain restore there does not stop on SQL errors.
    link: https://docs.ansible.com/ansible/latest/collections/community/postgresql/postgresql_db_module.html
"""

EXAMPLES = r"""
- name: Verify the newest tgquiz backup (custom format) at most 26 hours old
  tgops.runbooks.backup_verify:
    path: /backup
    pattern: backup_*.dump
    max_age: 26h
    min_size: 4096
    expected_tables: [users, quiz_results]

- name: Verify the newest toogoodtogo backup and show the 7-day retention
  tgops.runbooks.backup_verify:
    path: /opt/backups/postgres
    pattern: toogoodtogo_*.sql.gz
    max_age: 26h
    retention:
      prefix: toogoodtogo
      format: plain_gz
      keep: 7
      keep_days: 7
  register: ttg_backup

- name: Show what the runbook's cleanup would remove
  ansible.builtin.debug:
    var: ttg_backup.would_remove

- name: Restore-test a backup into a scratch database on the tgquiz server
  tgops.runbooks.backup_verify:
    path: /backup/backup_20250120_143000.dump
    restore_test: true
    restore_min_rows:
      users: 1
      quiz_results: 1
    login_host: 127.0.0.1
    login_port: 15432
    login_user: postgres
    login_password: "{{ vault_tgquiz_postgres_password }}"

- name: Collect the verdict without failing the play
  tgops.runbooks.backup_verify:
    path: /opt/backups/postgres/toogoodtogo_20250120_030000.sql.gz
    fail_on_problem: false
  register: verdict

- name: Alert when the backup is bad
  ansible.builtin.debug:
    msg: "Backup failed: {{ verdict.findings | join('; ') }}"
  when: not verdict.passed
"""

RETURN = r"""
path:
  description: The verified file (the newest match when O(path) is a directory).
  returned: always
  type: str
  sample: /backup/backup_20250120_143000.dump
passed:
  description: Whether every check passed.
  returned: always
  type: bool
findings:
  description:
    - One line per failed check, its name and its detail (the vocabulary's key for what is wrong); empty when
      RV(passed).
  returned: always
  type: list
  elements: str
  sample: ['integrity: the file ends at byte offset 7000 inside the data block of TOC entry 3361 (TABLE DATA public users)']
checks:
  description:
    - Each check with C(passed) and C(detail); the names of the failed ones are those whose C(passed) is V(false),
      and RV(findings) says what is wrong with each (its name, a colon and its detail), in this order. Keys - C(readable), C(size), C(age), C(integrity),
      C(completeness), C(content) (with O(require_data), when integrity and completeness passed),
      C(expected_tables) (with O(expected_tables)), C(checksum) (with O(expected_sha256)),
      C(restore) and C(restore_min_rows) (with O(restore_test)).
  returned: always
  type: dict
  sample:
    integrity:
      passed: false
      detail: >-
        corrupt compressed data in the data block of TOC entry 3361 (TABLE DATA public.quiz_results):
        Error -3 while decompressing data: incorrect data check (chunk at byte offset 6236, 2010 bytes)
format:
  description: C(custom), C(plain) or C(unknown).
  returned: always
  type: str
  sample: custom
compression:
  description: C(gzip) or C(none) for plain dumps; the data block compression (C(gzip), C(lz4), C(zstd), C(none)) of custom archives.
  returned: when the format was recognised
  type: str
  sample: gzip
size:
  description: File size in bytes.
  returned: when the file exists
  type: int
  sample: 1073741824
mtime:
  description: Modification time, ISO 8601 in UTC.
  returned: when the file exists
  type: str
  sample: '2025-01-20T14:30:00+00:00'
age_seconds:
  description: Seconds since the last modification.
  returned: when the file exists
  type: float
sha256:
  description:
    - SHA-256 of the file, computed in the same pass as the integrity check.
    - V(null) when C(integrity) failed, since reading stops at a structural error.
  returned: when the file was read
  type: str
duration_seconds:
  description: Time taken by the file checks.
  returned: always
  type: float
throughput_mb_s:
  description: Bytes read per second during the file checks, in MB/s.
  returned: when the file was read
  type: float
decompressor:
  description:
    - The inflater that decompressed the backup's gzip and zlib streams - V(isal) (ISA-L, from the Python
      package C(isal), when the host's Python can import it; the role option C(backup_verify_install_isal)
      installs it) or V(zlib) (Python's own, otherwise). V(null) when nothing was compressed.
    - It changes the speed only (ISA-L inflates about 2.5 times as fast). A stream ISA-L refuses is decompressed
      again from its start by zlib, so every other key, and every message about a damaged backup, is the
      same with either. The data blocks inside a gzipped custom archive are always inflated by zlib.
  returned: when a file was checked
  type: str
  sample: isal
tables:
  description: Tables found in the backup, schema-qualified.
  returned: always
  type: list
  elements: str
  sample: [public.quiz_results, public.users]
row_counts:
  description: COPY rows per table found while reading (see O(count_rows)).
  returned: always
  type: dict
  sample: {public.users: 40, public.quiz_results: 300}
archive:
  description:
    - Header of a custom archive - C(version), C(int_size), C(off_size), C(compression), C(created) (the
      dumping machine's local time), C(dbname), C(server_version), C(pg_dump_version), C(toc_entries),
      C(data_blocks), C(large_objects), C(toc_end) (byte offset where the data blocks start) and C(blocks) (each
      data block read - C(entry), C(offset), C(end), C(length)). For an archive version the module's reader does
      not know, only C(version), C(toc_entries) and C(read_by) (C(pg_restore --list)) - see the notes.
  returned: always
  type: dict
restore:
  description:
    - Result of the restore test - C(database) (scratch name), C(passed), C(error), C(duration_seconds),
      C(row_counts), C(min_rows_failed), C(dropped), C(commands) (argv lists, without the password, which
      travels in a private password file, C(PGPASSFILE)), C(warnings) (also given as module warnings), or
      C(skipped) with a C(reason).
  returned: when O(restore_test=true)
  type: dict
backups:
  description: With O(retention) - every matching backup, newest first, with C(path), C(size), C(mtime), C(age_seconds).
  returned: when O(retention) is set
  type: list
  elements: dict
would_remove:
  description:
    - With O(retention) - paths M(tgops.runbooks.backup_retention) would remove with the same policy (its
      RV(tgops.runbooks.backup_retention#module:removed)). Nothing is removed.
  returned: when O(retention) is set
  type: list
  elements: str
msg:
  description: Summary; on failure it names each failed check with its detail.
  returned: always
  type: str
"""

import datetime
import math
import os

from ansible.module_utils.common.text.formatters import human_to_bytes

from ansible_collections.tgops.runbooks.plugins.module_utils._backup_restore import check_db_prefix, run_restore_test
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_verify import (
    list_backups,
    parse_duration,
    verify_backup,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._pg_backup import list_named_backups, retention_plan
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import (
    connection_problem,
    postgres_common_argument_spec,
    postgres_maintenance_db_spec,
)


def _min_rows_detail(restore, min_rows):
    parts = []
    for table in sorted(min_rows):
        count = restore['row_counts'].get(table)
        if count is None:
            why = (restore.get('count_errors') or {}).get(table, 'no count')
            parts.append('%s: not counted (%s)' % (table, why))
        else:
            parts.append('%s: %d rows (minimum %d)%s' % (table, count, min_rows[table],
                                                         '' if count >= min_rows[table] else ' TOO FEW'))
    return ', '.join(parts)


def _has_nul(value):
    if isinstance(value, str):
        return '\x00' in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


def _invalid_params(params):
    """Why the options cannot be used, or None. Everything is checked before any file is read."""
    for name in sorted(params):
        if _has_nul(params[name]):
            return '%s: contains a NUL character' % name
    try:
        parse_duration(params['max_age'])
    except ValueError as exc:
        return 'max_age: %s' % exc
    if params['min_size'] < 0:
        return 'min_size cannot be negative (got %d)' % params['min_size']
    ratio = params['max_ratio']
    if ratio < 0 or not math.isfinite(ratio):
        return 'max_ratio must be a finite number of at least 0 (0 turns the bound off), got %s' % ratio
    try:
        params['max_decompressed_size'] = _size(params['max_decompressed_size'])
    except ValueError as exc:
        return 'max_decompressed_size %s' % exc
    problem = connection_problem(params)
    if problem:
        return problem
    sha = params['expected_sha256']
    if sha is not None and not (len(sha.strip()) == 64 and all(c in '0123456789abcdefABCDEF' for c in sha.strip())):
        return 'expected_sha256 must be 64 hexadecimal digits (got %d characters)' % len(sha)
    problem = check_db_prefix(params['restore_db_prefix'])
    if problem:
        return 'restore_db_prefix %s' % problem
    for table, value in params['restore_min_rows'].items():
        if not table or len(table) > 200:
            return 'restore_min_rows: table names must be 1 to 200 characters (got %d)' % len(table)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return 'restore_min_rows: %s needs a non-negative integer, got %s' % (table, _short(value))
        try:
            count = int(value)
        except ValueError:
            return 'restore_min_rows: %s needs a non-negative integer, got %s' % (table, _short(value))
        if count < 0:
            return 'restore_min_rows: %s cannot be negative (got %d)' % (table, count)
    retention = params['retention']
    if retention is not None:
        if retention['keep'] is None and retention['keep_days'] is None:
            return 'retention needs keep, keep_days or both'
        if retention['keep'] is not None and retention['keep'] < 1:
            return ('retention keep must be at least 1 (got %d): a policy never removes the newest backup'
                    % retention['keep'])
        if retention['keep_days'] is not None and retention['keep_days'] < 0:
            return 'retention keep_days cannot be negative (got %d)' % retention['keep_days']
    return None


def _size(value):
    """Bytes from an int or a string such as 64G; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError('must be a number of bytes or a size such as 64G, got %s' % _short(value))
    if isinstance(value, str):
        try:
            value = human_to_bytes(value.strip())
        except (ValueError, TypeError) as exc:
            raise ValueError('must be a number of bytes or a size such as 64G, got %s (%s)' % (_short(value), exc))
    if value < 1:
        raise ValueError('must be at least 1 byte, got %d' % value)
    return value


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else '%s... (%d characters)' % (text[:limit], len(text))


def _archive_lister(module):
    """pg_restore --list, for a custom archive of a version the module's own reader does not know."""
    def list_archive(path):
        opt_dirs = [module.params['bin_dir']] if module.params['bin_dir'] else []
        pg_restore = module.get_bin_path('pg_restore', opt_dirs=opt_dirs)
        if pg_restore is None:
            return 127, '', 'pg_restore not found on the host (install the PostgreSQL client or set bin_dir)'
        return module.run_command([pg_restore, '--list', os.path.abspath(path)])
    return list_archive


def _failed(checks):
    """The names of the failed checks, in the order of RV(checks)."""
    return [name for name, check in checks.items() if not check['passed']]


def _restore(module, result):
    params = module.params
    if module.check_mode:
        return {'skipped': True, 'reason': 'check mode: the restore test would create a scratch database'}
    if not result['passed']:
        return {'skipped': True, 'reason': 'the file checks failed: %s' % ', '.join(_failed(result['checks']))}
    opt_dirs = [params['bin_dir']] if params['bin_dir'] else []
    bins = {'psql': module.get_bin_path('psql', required=True, opt_dirs=opt_dirs)}
    if result['format'] == 'custom':
        bins['pg_restore'] = module.get_bin_path('pg_restore', required=True, opt_dirs=opt_dirs)

    def run_command(argv, environ_update=None):
        return module.run_command(argv, environ_update=environ_update)
    return run_restore_test(run_command, result, params, bins, min_rows=params['restore_min_rows'],
                            prefix=params['restore_db_prefix'], tmpdir=module.tmpdir)


def _would_remove(module, path, retention):
    """What backup_retention would remove from ``path`` with this policy: its listing, its plan (one policy)."""
    try:
        named = list_named_backups(path, retention['prefix'], retention['format'])
        plan = retention_plan(named, datetime.datetime.now(), keep=retention['keep'], keep_days=retention['keep_days'])
    except (OSError, ValueError) as exc:
        module.fail_json(msg='retention in %s: %s' % (path, exc))
    return plan['remove']


def main():
    argument_spec = postgres_common_argument_spec()
    argument_spec.update(
        path=dict(type='path', required=True),
        pattern=dict(type='str'),
        min_size=dict(type='int', default=1),
        require_data=dict(type='bool', default=True),
        max_age=dict(type='raw'),
        expected_tables=dict(type='list', elements='str', default=[]),
        expected_sha256=dict(type='str'),
        count_rows=dict(type='bool', default=True),
        max_ratio=dict(type='float', default=100),
        max_decompressed_size=dict(type='raw'),
        fail_on_problem=dict(type='bool', default=True),
        restore_test=dict(type='bool', default=False),
        restore_min_rows=dict(type='dict', default={}),
        restore_db_prefix=dict(type='str', default='tgops_verify_'),
        maintenance_db=postgres_maintenance_db_spec(),
        bin_dir=dict(type='path'),
        retention=dict(type='dict', options=dict(
            prefix=dict(type='str', required=True),
            format=dict(type='str', default='custom', choices=['custom', 'plain_gz']),
            keep=dict(type='int'),
            keep_days=dict(type='int'),
        )),
    )
    module = new_module(argument_spec, supports_check_mode=True)
    params = module.params

    problem = _invalid_params(params)
    if problem:
        module.fail_json(msg=problem)
    min_rows = dict((table, int(value)) for table, value in params['restore_min_rows'].items())
    params['restore_min_rows'] = min_rows

    path = params['path']
    extra = {}
    if os.path.isdir(path):
        if not params['pattern']:
            module.fail_json(msg='%s is a directory: set pattern (for example backup_*.dump) to pick the newest '
                                 'matching backup' % path)
        skipped = []
        links = []
        try:
            backups = list_backups(path, params['pattern'], skipped=skipped, links=links)
        except OSError as exc:
            module.fail_json(msg='cannot list %s: %s' % (path, exc.strerror or exc))
        for name in skipped:
            module.warn('left out a file in %s whose name is not valid UTF-8: %s' % (path, name))
        if links:
            module.warn('left out %d symbolic link(s) in %s matching %s (never followed): %s'
                        % (len(links), path, params['pattern'], ', '.join(sorted(links)[:10])
                           + (' and %d more' % (len(links) - 10) if len(links) > 10 else '')))
        if params['retention'] is not None:
            extra['would_remove'] = _would_remove(module, path, params['retention'])
            extra['backups'] = [dict((k, v) for k, v in b.items() if k != 'mtime_epoch') for b in backups]
        if not backups:
            detail = 'no file in %s matches %s' % (path, params['pattern'])
            result = dict(changed=False, path=path, passed=False, findings=['readable: %s' % detail], checks={'readable': {'passed': False, 'detail': detail}},
                          msg='no backup in %s matches %s' % (path, params['pattern']), **extra)
            if params['fail_on_problem']:
                module.fail_json(**result)
            module.exit_json(**result)
        path = backups[0]['path']
    elif params['retention'] is not None:
        module.fail_json(msg='retention needs path to be the backup directory and pattern the backup name glob')

    result = verify_backup(path, min_size=params['min_size'], max_age=params['max_age'],
                           expected_tables=params['expected_tables'], expected_sha256=params['expected_sha256'],
                           count_rows=params['count_rows'], require_data=params['require_data'],
                           max_ratio=params['max_ratio'], max_decompressed_size=params['max_decompressed_size'],
                           list_archive=_archive_lister(module))
    result.pop('bytes_read', None)
    # What is wrong is findings, the collection's one key for it, and each check's verdict is in checks; the
    # names of the failed checks are not returned a second time.
    result.pop('failed_checks', None)
    result.update(extra)

    if params['restore_test']:
        restore = _restore(module, result)
        result['restore'] = restore
        for warning in restore.get('warnings') or []:
            module.warn(warning)
        if not restore.get('skipped'):
            checks = result['checks']
            restore_ok = restore['error'] is None
            checks['restore'] = {
                'passed': restore_ok,
                'detail': ('restored into %s in %.1f s and dropped again'
                           % (restore['database'], restore['duration_seconds'])
                           if restore_ok else restore['error']),
            }
            if min_rows:
                checks['restore_min_rows'] = {
                    'passed': restore_ok and not restore['min_rows_failed'],
                    'detail': _min_rows_detail(restore, min_rows) if restore['row_counts'] else
                    'not run: the restore failed',
                }
            if restore['dropped'] is False:
                module.warn('the scratch database %s may be left behind: %s' % (restore['database'], restore['error']))
            failed = _failed(checks)
            result['findings'] = ['%s: %s' % (n, checks[n]['detail']) for n in failed]
            result['passed'] = not failed
            if not result['passed']:
                result['msg'] = 'backup %s failed check(s) %s: %s' % (path, ', '.join(failed), '; '.join(result['findings']))
            else:
                result['msg'] += '; restore test passed'

    for warning in result.pop('warnings'):
        module.warn(warning)
    result['changed'] = False
    if not result['passed'] and params['fail_on_problem']:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
