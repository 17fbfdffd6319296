# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile backups (issue 17): decompression bombs.

A gzip stream or a custom archive's zlib data blocks inflate up to about 1000:1 (10^6:1 for a gzipped archive
of zlib blocks), so a small file used to cost hours of reading. Every decompressed byte now counts against
``max_ratio`` times the file size (never below a floor) and ``max_decompressed_size``. The floor is lowered in
these tests (monkeypatch) so that each bomb is small and the test fast; each runs in a forked child with a
deadline (``bounded_verify``)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import zlib

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _backup_inflate
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_verify import verify_backup
from ansible_collections.tgops.runbooks.plugins.modules import backup_verify

from test_backup_hostile import bounded_verify, _custom_layout, _write, CUSTOM, PLAIN_GZ, HEADER, MIB
from tgops_module_runner import run_module

PIPE_CUSTOM = os.path.join(os.path.dirname(CUSTOM), 'tgquiz_fixture_pipe.dump')
BOMB = 64 * MIB          # decompressed size of each bomb
FLOOR = 1 * MIB          # the ratio bound's floor in these tests (256 MiB in the module)


@pytest.fixture
def low_floor(monkeypatch):
    monkeypatch.setattr(_backup_inflate, '_RATIO_FLOOR', FLOOR)


def _deflate(total, wbits, piece=b'1\tx\n'):
    """``total`` bytes of a repeated row, compressed as they come (never all in memory)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = piece * (MIB // len(piece))
    out = [comp.compress(block) for dummy in range(total // len(block))]
    out.append(comp.flush())
    return b''.join(out)


def case_gzip_sql_bomb(directory):
    """64 MiB of COPY rows in a gzip file of about 64 KiB (two members: the statements, then the rows)."""
    body = HEADER + b'CREATE TABLE public.t (x text);\nCOPY public.t (x) FROM stdin;\n'
    return _write(directory, 'bomb.sql.gz', _gzip(body) + _deflate(BOMB, 31))


def _custom_bomb(gzipped):
    """The pipe fixture (no data offsets in its TOC) with its first data block replaced by a 64 MiB zlib bomb."""
    data, dummy, block = _custom_layout(PIPE_CUSTOM)
    start = block['offset'] + 1 + 5  # block type and dump id
    payload = _deflate(BOMB, 15)
    chunks = []
    for at in range(0, len(payload), 4096):
        piece = payload[at:at + 4096]
        chunks.append(b'\x00' + len(piece).to_bytes(4, 'little') + piece)
    archive = data[:start] + b''.join(chunks) + b'\x00' * 5 + data[block['end']:]
    if gzipped:
        return _gzip(archive)
    return archive


def _gzip(data):
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


def _bound_detail(result, bound):
    assert result is not None, 'no verdict within the deadline'
    assert 'integrity' in result['failed_checks'], result['msg']
    detail = result['checks']['integrity']['detail']
    assert 'decompressed data passed the bound %s' % bound in detail, detail
    return detail


def test_gzip_sql_bomb_stops_at_the_ratio_bound(tmp_path, low_floor):
    path = case_gzip_sql_bomb(tmp_path)
    size = os.path.getsize(path)
    assert size < BOMB // 500
    result, seconds, dummy = bounded_verify(path, 20)
    detail = _bound_detail(result, 'max_ratio=100')
    assert 'raise max_ratio' in detail
    assert result['sha256'] is None  # reading stopped
    assert seconds < 10


@pytest.mark.parametrize('gzipped', [False, True], ids=['custom', 'gzipped_custom'])
def test_custom_archive_zlib_block_bomb_stops_at_the_ratio_bound(tmp_path, low_floor, gzipped):
    path = _write(tmp_path, 'bomb.dump' + ('.gz' if gzipped else ''), _custom_bomb(gzipped))
    assert os.path.getsize(path) < BOMB // 500
    result, seconds, dummy = bounded_verify(path, 20)
    _bound_detail(result, 'max_ratio=100')


def test_the_same_bomb_is_read_to_its_end_without_the_ratio_bound(tmp_path, low_floor):
    """max_ratio=0 turns the bound off: the bomb is then only a dump without its trailer."""
    path = case_gzip_sql_bomb(tmp_path)
    result, seconds, dummy = bounded_verify(path, 60, max_ratio=0)
    assert result['checks']['integrity']['passed'], result['msg']
    assert result['failed_checks'] == ['completeness']


def test_max_decompressed_size_bounds_a_real_dump(tmp_path):
    result = verify_backup(PLAIN_GZ, max_decompressed_size=1000)
    detail = _bound_detail(result, 'max_decompressed_size=1000')
    assert 'raise max_decompressed_size' in detail


@pytest.mark.parametrize('name', ['toogoodtogo_fixture.sql.gz', 'tgquiz_fixture.dump', 'tgquiz_fixture_z0.dump',
                                  'create_plain_fixture.sql.gz'])
def test_real_dumps_pass_under_the_default_bounds_even_with_a_low_floor(tmp_path, low_floor, name):
    result = verify_backup(os.path.join(os.path.dirname(CUSTOM), name))
    assert result['passed'], result['msg']


@pytest.mark.parametrize('kwargs', [{'max_ratio': -1}, {'max_ratio': float('inf')}, {'max_ratio': float('nan')},
                                    {'max_ratio': True}, {'max_decompressed_size': 0},
                                    {'max_decompressed_size': '1G'}])
def test_bad_bounds_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        verify_backup(PLAIN_GZ, **kwargs)


# --- through the module -----------------------------------------------------------------------------------------

def test_module_passes_the_bounds(tmp_path):
    result = run_module(backup_verify, {'path': PLAIN_GZ, 'max_decompressed_size': '1K', 'fail_on_problem': False})
    assert not result.get('failed')
    assert 'max_decompressed_size=1024' in result['checks']['integrity']['detail']
    result = run_module(backup_verify, {'path': PLAIN_GZ, 'max_decompressed_size': 1 << 30, 'max_ratio': 2.5})
    assert result['passed'], result['msg']


@pytest.mark.parametrize('args, message', [
    ({'max_ratio': -1}, 'max_ratio must be'),
    ({'max_ratio': 'inf'}, 'max_ratio must be'),
    ({'max_decompressed_size': 0}, 'max_decompressed_size must be'),
    ({'max_decompressed_size': '12 parsecs'}, 'max_decompressed_size'),
    ({'max_decompressed_size': -5}, 'max_decompressed_size must be'),
])
def test_module_rejects_bad_bounds(args, message):
    args = dict(args, path=PLAIN_GZ)
    result = run_module(backup_verify, args)
    assert result.get('failed')
    assert message in result['msg'], result['msg']
