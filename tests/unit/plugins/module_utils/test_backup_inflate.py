# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ISA-L or zlib: the verifier's result is the same whichever inflates (but for ``decompressor``), on the real
pg_dump outputs of tests/unit/fixtures/backups and on damaged copies of them, and zlib is taken when the isal
package cannot be imported."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import json
import os
import random
import subprocess
import sys
import zlib

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _backup_inflate
from ansible_collections.tgops.runbooks.plugins.module_utils import _backup_custom
from ansible_collections.tgops.runbooks.plugins.module_utils import _backup_sql
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_verify import verify_backup
from test_backup_stream import _read, _write  # the file helpers of the zlib-only tests beside this one

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups')
CUSTOM = os.path.join(FIXTURES, 'tgquiz_fixture.dump')
CUSTOM_PIPE = os.path.join(FIXTURES, 'tgquiz_fixture_pipe.dump')
PLAIN_GZ = os.path.join(FIXTURES, 'toogoodtogo_fixture.sql.gz')

needs_isal = pytest.mark.skipif(_backup_inflate.inflater_available() != 'isal', reason='the isal package is not installed')

# Keys that differ by nature: timings, which inflater ran, and how far the reader got before an integrity
# failure stopped it (read-ahead moves it even with zlib alone; the module does not return it).
_VOLATILE = ('duration_seconds', 'throughput_mb_s', 'decompressor', 'bytes_read')


def _both(path, **kwargs):
    """verify_backup with zlib and with ISA-L; asserts the results are equal and returns the zlib one."""
    now = os.stat(path).st_mtime + 60
    by_zlib = verify_backup(path, inflater='zlib', now=now, **kwargs)
    by_isal = verify_backup(path, inflater='isal', now=now, **kwargs)
    assert (by_zlib['decompressor'], by_isal['decompressor']) in (('zlib', 'isal'), (None, None))
    for key in _VOLATILE:
        by_zlib.pop(key, None)
        by_isal.pop(key, None)
    assert by_isal == by_zlib
    return by_zlib


def _flip(data, index, bit=0x04):
    data = bytearray(data)
    data[index] ^= bit
    return bytes(data)


def _gzip_of_fixture(members=1, level=6):
    """The real plain dump, gzipped again as ``members`` gzip members (``cat a.gz b.gz`` style)."""
    with gzip.open(PLAIN_GZ, 'rb') as f:
        sql = f.read()
    cut = [len(sql) * i // members for i in range(members + 1)]
    return b''.join(gzip.compress(sql[cut[i]:cut[i + 1]], level, mtime=0) for i in range(members))


def _data_block(path):
    """(start, end) of the largest zlib-compressed data block of a custom archive."""
    blocks = verify_backup(path, inflater='zlib')['archive']['blocks']
    largest = max(blocks, key=lambda b: b['length'])
    return largest['offset'], largest['end']


# --- the choice -----------------------------------------------------------------------------------------------

# Run in a fresh interpreter where `import isal` fails (a None in sys.modules makes the import raise ImportError),
# as on a host without the package: prints what the verifier chose and its verdicts.
_WITHOUT_ISAL = r"""
import json, sys
sys.modules['isal'] = None
sys.modules['isal.isal_zlib'] = None
from ansible_collections.tgops.runbooks.plugins.module_utils import _backup_inflate, _backup_verify
out = {'available': _backup_inflate.inflater_available(), 'errors': [e.__name__ for e in _backup_inflate.INFLATE_ERRORS],
       'results': []}
try:
    _backup_verify.verify_backup(sys.argv[1], inflater='isal')
except ValueError as exc:
    out['asked_isal'] = str(exc)
for path in sys.argv[1:]:
    result = _backup_verify.verify_backup(path)
    out['results'].append([result['decompressor'], result['passed'], result['checks']['integrity']['detail']])
print(json.dumps(out))
"""


def test_fallback_to_zlib_when_isal_cannot_be_imported(tmp_path):
    damaged = _write(tmp_path, 'flip.sql.gz', _flip(_read(PLAIN_GZ), 1500))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, '-c', _WITHOUT_ISAL, PLAIN_GZ, CUSTOM, damaged], env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out['available'] == 'zlib'
    assert out['errors'] == ['error']
    assert "inflater 'isal' is not available here (available: zlib)" in out['asked_isal']
    assert [r[:2] for r in out['results']] == [['zlib', True], ['zlib', True], ['zlib', False]]
    assert 'Error -3 while decompressing data' in out['results'][2][2]
    # and the same verdict, word for word, as with ISA-L here when it is installed
    assert out['results'][2][2] == verify_backup(damaged)['checks']['integrity']['detail']


@needs_isal
@pytest.mark.parametrize('path', [PLAIN_GZ, CUSTOM, CUSTOM_PIPE])
def test_isal_is_taken_when_importable(path):
    result = verify_backup(path)
    assert result['passed'], result['msg']
    assert result['decompressor'] == 'isal'


def test_nothing_to_inflate_reports_no_decompressor():
    result = verify_backup(os.path.join(FIXTURES, 'tgquiz_fixture_z0.dump'))
    assert result['passed'], result['msg']
    assert result['decompressor'] is None


# --- good backups -----------------------------------------------------------------------------------------------

@needs_isal
@pytest.mark.parametrize('chunk_size', [7, 4093, 1024 * 1024])
@pytest.mark.parametrize('path', [PLAIN_GZ, CUSTOM, CUSTOM_PIPE])
def test_same_result_on_real_dumps(path, chunk_size):
    assert _both(path, chunk_size=chunk_size)['passed']


@needs_isal
@pytest.mark.parametrize('members', [2, 7])
def test_same_result_on_several_members(tmp_path, members):
    path = _write(tmp_path, 'members.sql.gz', _gzip_of_fixture(members))
    result = _both(path, chunk_size=1000)
    assert result['passed'], result['msg']
    assert result['gzip_members'] == members


# --- damaged gzip ---------------------------------------------------------------------------------------------------

@needs_isal
@pytest.mark.parametrize('cut', [1, 5, 11, 100, 2000, -9, -8, -4, -1])
@pytest.mark.parametrize('chunk_size', [64, 1024 * 1024])
def test_same_result_on_truncated_gzip(tmp_path, cut, chunk_size):
    data = _read(PLAIN_GZ)
    result = _both(_write(tmp_path, 'cut.sql.gz', data[:cut]), chunk_size=chunk_size)
    assert result['failed_checks'] == ['integrity', 'completeness']


@needs_isal
@pytest.mark.parametrize('where', ['header_flags', 'header_os', 'first_block', 'middle', 'crc', 'isize'])
@pytest.mark.parametrize('chunk_size', [64, 1024 * 1024])
def test_same_result_on_flipped_gzip_byte(tmp_path, where, chunk_size):
    data = _read(PLAIN_GZ)
    index = {'header_flags': 3, 'header_os': 9, 'first_block': 12, 'middle': len(data) // 2, 'crc': len(data) - 7,
             'isize': len(data) - 2}[where]
    result = _both(_write(tmp_path, 'flip.sql.gz', _flip(data, index, 0x40 if where == 'header_flags' else 0x04)),
                   chunk_size=chunk_size, expected_sha256='0' * 64)
    # the OS byte is informational: gzip and zlib ignore it
    assert ('integrity' in result['failed_checks']) == (where != 'header_os')


@needs_isal
def test_reserved_gzip_flags_are_refused_as_zlib_does(tmp_path):
    # ISA-L itself accepts them: the verifier checks the header and hands the member to zlib
    data = _read(PLAIN_GZ)
    result = _both(_write(tmp_path, 'flags.sql.gz', data[:3] + bytes([data[3] | 0x20]) + data[4:]))
    assert 'unknown header flags set' in result['checks']['integrity']['detail']


@needs_isal
def test_same_result_on_bad_crc(tmp_path):
    data = _read(PLAIN_GZ)
    crc = zlib.crc32(b'something else').to_bytes(4, 'little')
    result = _both(_write(tmp_path, 'crc.sql.gz', data[:-8] + crc + data[-4:]), chunk_size=256)
    assert 'incorrect data check' in result['checks']['integrity']['detail']


@needs_isal
@pytest.mark.parametrize('garbage', [b'not gzip at all', b'\0' * 16, b'\x1f', b'\x1f\x8b\x08\0', b'\x1f\x8b'])
def test_same_result_on_trailing_garbage(tmp_path, garbage):
    result = _both(_write(tmp_path, 'garbage.sql.gz', _read(PLAIN_GZ) + garbage), chunk_size=512)
    assert 'integrity' in result['failed_checks']


@needs_isal
@pytest.mark.parametrize('damage', ['flip', 'cut', 'crc'])
def test_same_result_on_damaged_second_member(tmp_path, damage):
    first = _gzip_of_fixture(1)
    second = gzip.compress(b'SELECT 1;\n' * 5000, mtime=0)
    if damage == 'flip':
        second = _flip(second, len(second) // 2)
    elif damage == 'cut':
        second = second[:len(second) // 2]
    else:
        second = second[:-8] + b'\0\0\0\0' + second[-4:]
    result = _both(_write(tmp_path, 'second.sql.gz', first + second), chunk_size=300)
    assert 'integrity' in result['failed_checks']
    # a damaged member that fails in its first slice reads as data after member 1 (zlib's wording, both ways)
    assert 'gzip member 2' in result['checks']['integrity']['detail'] or 'after gzip member 1' in \
        result['checks']['integrity']['detail']


@needs_isal
def test_isal_output_before_a_refusal_is_not_given_twice(tmp_path, monkeypatch):
    # a damaged member long enough that ISA-L gives output before it fails: zlib's replay skips that output,
    # so the budget and the row counts see every byte once
    rows = b''.join(b'%d\tuser_%d\t%x\n' % (i, i, random.Random(i).getrandbits(64)) for i in range(60000))
    sql = (b'--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE public.t (id int, name text, token text);\n'
           b'COPY public.t (id, name, token) FROM stdin;\n' + rows + b'\\.\n\n--\n-- PostgreSQL database dump '
           b'complete\n--\n\n')
    data = gzip.compress(sql, mtime=0)
    rewinds = []
    rewind = _backup_inflate.Rewindable.rewind
    monkeypatch.setattr(_backup_inflate.Rewindable, 'rewind', lambda self: rewinds.append(1) or rewind(self))
    for index in (len(data) * 3 // 4, len(data) - 6):
        path = _write(tmp_path, 'late.sql.gz', _flip(data, index))
        result = _both(path, chunk_size=4096, max_decompressed_size=len(sql) + 10)
        assert 'integrity' in result['failed_checks']
        assert 'passed the bound' not in result['checks']['integrity']['detail']
    assert len(rewinds) == 2  # one per damaged file, in the ISA-L run


@needs_isal
def test_same_result_on_random_flips_of_gzip(tmp_path):
    data = _read(PLAIN_GZ)
    rnd = random.Random(20)
    for dummy in range(60):
        index = rnd.randrange(len(data))
        path = _write(tmp_path, 'fuzz.sql.gz', _flip(data, index, 1 << rnd.randrange(8)))
        _both(path, chunk_size=rnd.choice([97, 1024, 1024 * 1024]))


# --- damaged custom archives ------------------------------------------------------------------------------------------

@needs_isal
@pytest.mark.parametrize('batch', [64, 256 * 1024])
@pytest.mark.parametrize('where', ['first', 'middle', 'adler', 'last'])
def test_same_result_on_flipped_data_block_byte(tmp_path, monkeypatch, batch, where):
    # a small BATCH makes the refused batch a later one, so zlib's replay goes through earlier batches first
    monkeypatch.setattr(_backup_custom._BlockReader, 'BATCH', batch)
    data = _read(CUSTOM)
    start, end = _data_block(CUSTOM)
    # the block ends with the 5-byte end marker; the Adler-32 is the 4 bytes before it
    index = {'first': start + 12, 'middle': (start + end) // 2, 'adler': end - 9, 'last': end - 6}[where]
    again = []
    reopen = _backup_custom.Source.again
    monkeypatch.setattr(_backup_custom.Source, 'again', lambda self, *a: again.append(a) or reopen(self, *a))
    result = _both(_write(tmp_path, 'flip.dump', _flip(data, index)), chunk_size=512)
    assert 'integrity' in result['failed_checks']
    assert len(again) == 1  # ISA-L refused, zlib read the block again


@needs_isal
@pytest.mark.parametrize('cut', [100, -200, -40, -12, -5, -1])
def test_same_result_on_truncated_archive(tmp_path, cut):
    data = _read(CUSTOM)
    result = _both(_write(tmp_path, 'cut.dump', data[:cut]), chunk_size=256)
    assert 'integrity' in result['failed_checks']


@needs_isal
@pytest.mark.parametrize('path', [CUSTOM, CUSTOM_PIPE])
def test_same_result_on_archive_with_trailing_garbage(tmp_path, path):
    result = _both(_write(tmp_path, 'garbage.dump', _read(path) + b'\x01\x00\x00\x00\x00\x00garbage'))
    assert 'integrity' in result['failed_checks']


@needs_isal
def test_same_result_on_gzipped_archive(tmp_path):
    data = gzip.compress(_read(CUSTOM), mtime=0)
    assert _both(_write(tmp_path, 'archive.dump.gz', data))['passed']
    _both(_write(tmp_path, 'archive_flip.dump.gz', _flip(data, len(data) // 2)))


@needs_isal
@pytest.mark.parametrize('batch', [64, 256 * 1024])
def test_same_result_on_random_flips_of_data_blocks(tmp_path, monkeypatch, batch):
    monkeypatch.setattr(_backup_custom._BlockReader, 'BATCH', batch)
    data = _read(CUSTOM)
    start, end = _data_block(CUSTOM)
    rnd = random.Random(batch)
    for dummy in range(40):
        index = rnd.randrange(start, end)
        path = _write(tmp_path, 'fuzz.dump', _flip(data, index, 1 << rnd.randrange(8)))
        _both(path, chunk_size=rnd.choice([61, 1024, 1024 * 1024]))


@needs_isal
def test_restore_stream_is_the_same_with_isal(tmp_path):
    # vetted_sql_file (what psql reads in a restore test) inflates with the best inflater too
    path = _write(tmp_path, 'members.sql.gz', _gzip_of_fixture(3))
    streamed = b''.join(_backup_sql.vetted_sql_file(path, chunk_size=999))
    with gzip.open(path, 'rb') as f:
        assert streamed == f.read()


# --- the scanner's fast search ----------------------------------------------------------------------------------

def test_find_copy_end_is_bytes_find():
    # memchr on backslashes first, bytes.find after _BACKSLASH_PROBES of them: the same answer as bytes.find
    rnd = random.Random(7)
    for dummy in range(20000):
        buf = bytes(rnd.choice(b'\\\\\\.\na') for dummy in range(rnd.randint(0, 60)))
        start = rnd.randint(0, len(buf) + 1)
        assert _backup_sql._find_copy_end(buf, start) == buf.find(b'\\.\n', start), (buf, start)
    many = b'\\N\t' * 100 + b'\n\\.\n'
    assert _backup_sql._find_copy_end(many, 0) == many.find(b'\\.\n')
