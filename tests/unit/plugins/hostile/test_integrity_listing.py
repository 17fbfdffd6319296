# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile backup directory for postgres_integrity_info's backup listing (issue 17): whoever can write the backup
directory plants a symbolic link (to a file elsewhere, made newest by its target's mtime), a directory or a FIFO
under a backup's name. list_backups lists only regular files, judged by lstat (the link itself, never its
target), so the newest backup it names is one of the directory's own files."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.tgops.runbooks.plugins.module_utils._pg_integrity import list_backups

PATTERN = 'toogoodtogo_*.sql.gz'


def test_links_directories_and_fifos_are_not_backups(tmp_path):
    backups = tmp_path / 'backups'
    backups.mkdir()
    real = backups / 'toogoodtogo_20250101_030000.sql.gz'
    real.write_bytes(b'x' * 10)
    os.utime(str(real), (1735700000, 1735700000))
    elsewhere = tmp_path / 'attacker.sql.gz'
    elsewhere.write_bytes(b'y' * 99)
    os.utime(str(elsewhere), (1900000000, 1900000000))  # newer than any backup
    os.symlink(str(elsewhere), str(backups / 'toogoodtogo_20300101_030000.sql.gz'))
    os.symlink('/nonexistent', str(backups / 'toogoodtogo_20300102_030000.sql.gz'))  # dangling
    (backups / 'toogoodtogo_20300103_030000.sql.gz').mkdir()
    os.mkfifo(str(backups / 'toogoodtogo_20300104_030000.sql.gz'))
    found = list_backups(str(backups), PATTERN, [])
    assert [b['name'] for b in found] == [real.name]
    assert found[0]['size'] == 10 and found[0]['mtime'] == 1735700000


def test_a_file_gone_between_listing_and_lstat_is_skipped(tmp_path):
    real = tmp_path / 'toogoodtogo_20250101_030000.sql.gz'
    real.write_bytes(b'x')
    names = [real.name, 'toogoodtogo_20250102_030000.sql.gz']
    found = list_backups(str(tmp_path), PATTERN, [], listdir=lambda directory: names)
    assert [b['name'] for b in found] == [real.name]
