# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile backups (issue 17): symbolic links and other non-regular files.

Whoever can write the backup directory can put a link there (``backup_99999999_999999.dump -> /etc/shadow``,
``-> /dev/zero``, ``-> a FIFO``) that the module, running as root, would read and report on (size, SHA-256,
tables). A backup is read as the regular file it is: a link is refused as the file and left out of a directory
listing, never followed (``O_NOFOLLOW``); pipes and devices are refused without blocking."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import stat

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _backup_verify
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_verify import list_backups, verify_backup
from ansible_collections.tgops.runbooks.plugins.modules import backup_verify

from test_backup_hostile import bounded_verify, CUSTOM, PLAIN_GZ
from tgops_module_runner import run_module


def _link(tmp_path, target, name='backup_20991231_235959.dump'):
    path = str(tmp_path / name)
    os.symlink(target, path)
    return path


def _refused_as_link(result, path, raced=False):
    # when the link appears after the lstat(), size and age were judged from the regular file seen then
    assert result['failed_checks'] == ['readable'] + ([] if raced else ['size', 'age']) + [
        'integrity', 'completeness'], result['msg']
    detail = result['checks']['readable']['detail']
    assert detail.startswith('%s is a symbolic link: refused' % path), detail
    assert result['sha256'] is None and result['tables'] == []


@pytest.mark.parametrize('target', [CUSTOM, PLAIN_GZ, '/nonexistent/backup.dump'], ids=['custom', 'plain', 'dangling'])
def test_symlinked_backup_is_refused(tmp_path, target):
    path = _link(tmp_path, target)
    _refused_as_link(verify_backup(path), path)


def test_symlink_to_an_endless_device_is_refused_at_once(tmp_path):
    path = _link(tmp_path, '/dev/zero')
    result, seconds, dummy = bounded_verify(path, 5)
    _refused_as_link(result, path)


def test_link_to_a_link_is_refused(tmp_path):
    """A link whose final component is the link: a link to a link is a link too."""
    first = _link(tmp_path, CUSTOM, 'first.dump')
    path = _link(tmp_path, first)
    _refused_as_link(verify_backup(path), path)


def test_a_directory_reached_through_a_link_is_fine(tmp_path):
    real = tmp_path / 'real'
    real.mkdir()
    shutil.copy(CUSTOM, str(real / 'backup.dump'))
    os.symlink(str(real), str(tmp_path / 'via'))
    result = verify_backup(str(tmp_path / 'via' / 'backup.dump'))
    assert result['passed'], result['msg']


@pytest.mark.parametrize('kind, make', [
    ('a named pipe', os.mkfifo),
    ('a directory', os.mkdir),
], ids=['fifo', 'directory'])
def test_non_regular_files_are_refused_without_blocking(tmp_path, kind, make):
    path = str(tmp_path / 'backup.dump')
    make(path)
    result, seconds, dummy = bounded_verify(path, 5)
    assert result is not None, 'blocked'
    assert result['checks']['readable'] == {'passed': False,
                                            'detail': '%s is %s, not a regular file: refused' % (path, kind)}


def test_a_link_swapped_in_after_the_check_is_not_followed(tmp_path, monkeypatch):
    """The path is a regular file at lstat() time and a link at open() time: O_NOFOLLOW refuses it."""
    path = _link(tmp_path, CUSTOM)
    regular = os.lstat(CUSTOM)
    monkeypatch.setattr(_backup_verify.os, 'lstat', lambda name: regular if name == path else os.stat(name))
    _refused_as_link(verify_backup(path), path, raced=True)


def test_a_file_swapped_after_the_check_is_refused(tmp_path, monkeypatch):
    path = str(tmp_path / 'backup.dump')
    shutil.copy(CUSTOM, path)
    other = os.lstat(PLAIN_GZ)
    monkeypatch.setattr(_backup_verify.os, 'lstat', lambda name: other if name == path else os.stat(name))
    result = verify_backup(path)
    assert result['checks']['readable'] == {
        'passed': False, 'detail': '%s was replaced between its check and its opening: refused' % path}


# --- directory listing -------------------------------------------------------------------------------------------

def _backup_dir(tmp_path):
    directory = tmp_path / 'backups'
    directory.mkdir()
    shutil.copy(CUSTOM, str(directory / 'backup_20250101_000000.dump'))
    os.utime(str(directory / 'backup_20250101_000000.dump'), (1735689600, 1735689600))
    secret = tmp_path / 'secret.dump'
    shutil.copy(PLAIN_GZ, str(secret))
    os.symlink(str(secret), str(directory / 'backup_20991231_235959.dump'))  # newest by its target's mtime
    return str(directory)


def test_listing_leaves_links_out_and_names_them(tmp_path):
    directory = _backup_dir(tmp_path)
    links = []
    found = list_backups(directory, 'backup_*.dump', links=links)
    assert [os.path.basename(b['path']) for b in found] == ['backup_20250101_000000.dump']
    assert links == ['backup_20991231_235959.dump']


def test_module_verifies_the_newest_regular_file_and_warns_about_the_link(tmp_path):
    directory = _backup_dir(tmp_path)
    result = run_module(backup_verify, {'path': directory, 'pattern': 'backup_*.dump'})
    assert result['passed'], result['msg']
    assert result['path'] == os.path.join(directory, 'backup_20250101_000000.dump')
    assert any('left out 1 symbolic link(s) in %s matching backup_*.dump (never followed): '
               'backup_20991231_235959.dump' % directory in w for w in result['warnings']), result['warnings']


def test_module_fails_on_a_symlinked_file(tmp_path):
    path = _link(tmp_path, CUSTOM)
    result = run_module(backup_verify, {'path': path})
    assert result['failed']
    assert '%s is a symbolic link: refused' % path in result['msg']
    assert stat.S_ISLNK(os.lstat(path).st_mode)  # nothing changed
