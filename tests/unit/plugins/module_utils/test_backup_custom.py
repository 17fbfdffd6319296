# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The custom-format reader's version window (1.12 to 1.16) and what verify_backup() does outside it: ask
pg_restore --list, through the ``list_archive`` it is given. The listing is real: pg_restore 15.18's output for
tgquiz_fixture.dump (fixtures/backups/make_fixtures.sh), and pg_restore's refusal is its own message."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import hashlib
import os

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils._backup_custom import (
    SUPPORTED_VERSIONS,
    parse_listing,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_verify import verify_backup

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups')
CUSTOM = os.path.join(FIXTURES, 'tgquiz_fixture.dump')
with open(os.path.join(FIXTURES, 'tgquiz_fixture.list')) as _handle:
    LISTING = _handle.read()
# What pg_restore 15.18 says of an archive whose header claims version 1.17.
REFUSAL = 'pg_restore: error: unsupported version (1.17) in file header\n'
TABLES = ['public.empty_table', 'public.quiz_results', 'public.users']


def _with_version(tmp_path, minor, name='backup_20250120_143000.dump'):
    """The real fixture (version 1.14) with its header's minor version byte (offset 6) set to ``minor``."""
    with open(CUSTOM, 'rb') as handle:
        data = bytearray(handle.read())
    assert data[:7] == b'PGDMP\x01\x0e'
    data[6] = minor
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return str(path), hashlib.sha256(bytes(data)).hexdigest()


class Lister(object):
    """Stands in for ``pg_restore --list``: records the paths, answers (rc, stdout, stderr)."""

    def __init__(self, rc=0, out=None, err=''):
        self.calls = []
        self.answer = (rc, LISTING.replace('Dump Version: 1.14-0', 'Dump Version: 1.17-0') if out is None else out,
                       err)

    def __call__(self, path):
        self.calls.append(path)
        return self.answer


def test_the_listing_of_the_real_fixture():
    listing = parse_listing(LISTING)
    assert listing['version'] == '1.14-0'
    assert listing['toc_entries'] == 20 == sum(1 for line in LISTING.splitlines() if line and not line.startswith(';'))
    assert sorted(listing['tables']) == TABLES
    assert sorted(listing['data_tables']) == TABLES


@pytest.mark.parametrize('text', ['', 'pg_restore: error: could not read input file\n', 'hello\n215; x\n'])
def test_what_is_not_a_listing_is_refused(text):
    with pytest.raises(ValueError):
        parse_listing(text)


def test_the_window_is_1_12_to_1_16():
    assert SUPPORTED_VERSIONS == ((1, 12), (1, 16))


def test_known_versions_never_ask_pg_restore():
    def refuse(path):
        raise AssertionError('pg_restore was asked about %s' % path)
    result = verify_backup(CUSTOM, list_archive=refuse)
    assert result['passed'], result['msg']
    assert 'read_by' not in result['archive'] and result['archive']['version'] == '1.14-0'


@pytest.mark.parametrize('minor', [11, 17, 255])
def test_a_version_outside_the_window_fails_without_a_lister(tmp_path, minor):
    path, dummy = _with_version(tmp_path, minor)
    result = verify_backup(path)
    assert not result['passed'] and result['failed_checks'] == ['integrity', 'completeness']
    assert result['checks']['integrity']['detail'] == (
        'custom archive version 1.%d-0 is outside the versions this reader knows (1.12 to 1.16)' % minor)
    assert result['sha256'] is None


def test_a_newer_archive_is_read_by_pg_restore_and_says_so(tmp_path):
    path, sha256 = _with_version(tmp_path, 17)
    lister = Lister()
    result = verify_backup(path, expected_tables=['users', 'quiz_results'], expected_sha256=sha256,
                           list_archive=lister)
    assert lister.calls == [path]
    assert result['passed'], result['msg']
    assert result['sha256'] == sha256, 'the whole file is hashed, from the file the verifier opened'
    assert result['archive'] == {'version': '1.17-0', 'read_by': 'pg_restore --list', 'toc_entries': 20}
    assert sorted(result['tables']) == TABLES and result['row_counts'] == {}
    checks = result['checks']
    assert checks['integrity']['detail'].startswith('custom archive version 1.17-0 is outside the versions this '
                                                    'reader knows (1.12 to 1.16): pg_restore --list read its header')
    assert checks['completeness']['detail'].startswith('not verified by this reader')
    assert checks['content']['passed'] and '3 with their data' in checks['content']['detail']
    assert checks['checksum']['passed'] and checks['expected_tables']['passed']
    assert len(result['warnings']) == 1 and 'data blocks were neither read nor decompressed' in result['warnings'][0]


def test_a_table_the_listing_lacks_still_fails(tmp_path):
    path, dummy = _with_version(tmp_path, 17)
    result = verify_backup(path, expected_tables=['orders'], list_archive=Lister())
    assert result['failed_checks'] == ['expected_tables']


def test_pg_restore_refusing_it_too_fails_integrity_with_both_reasons(tmp_path):
    path, dummy = _with_version(tmp_path, 17)
    result = verify_backup(path, list_archive=Lister(rc=1, out='', err=REFUSAL))
    assert result['failed_checks'] == ['integrity', 'completeness']
    assert result['checks']['integrity']['detail'] == (
        'custom archive version 1.17-0 is outside the versions this reader knows (1.12 to 1.16); pg_restore --list '
        "could not read it either (exit 1: 'pg_restore: error: unsupported version (1.17) in file header')")
    assert result['sha256'] is None


def test_a_listing_of_another_version_means_the_file_changed(tmp_path):
    path, dummy = _with_version(tmp_path, 17)
    result = verify_backup(path, list_archive=Lister(out=LISTING))
    assert not result['passed'] and 'pg_restore --list read version 1.14-0' in result['checks']['integrity']['detail']


def test_output_that_is_no_listing_fails_integrity(tmp_path):
    path, dummy = _with_version(tmp_path, 17)
    result = verify_backup(path, list_archive=Lister(out='something else\n'))
    assert not result['passed'] and 'printed no listing' in result['checks']['integrity']['detail']


def test_a_gzipped_archive_of_an_unknown_version_is_not_listed(tmp_path):
    path, dummy = _with_version(tmp_path, 17)
    gz = tmp_path / 'backup_20250120_143000.dump.gz'
    with open(path, 'rb') as handle:
        gz.write_bytes(gzip.compress(handle.read()))
    lister = Lister()
    result = verify_backup(str(gz), list_archive=lister)
    assert lister.calls == [], 'pg_restore reads archive files, not gzipped ones'
    assert 'outside the versions this reader knows' in result['checks']['integrity']['detail']
