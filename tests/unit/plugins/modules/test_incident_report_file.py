# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.tgops.runbooks.plugins.modules import incident_report_file

from tgops_module_runner import run_module

REPORT = u'## Incident Report: tgquiz\n\n- 03:15 UTC - acknowledged \u2713\n'


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def report(tmp_path):
    return str(tmp_path / 'reports' / 'nested' / '2026-11-23-p0-tgquiz-lab-031500.md')


def test_creates_the_directories_and_the_file_with_their_modes(report):
    result = run_module(incident_report_file, dict(path=report, content=REPORT))
    assert 'failed' not in result and result['changed'] is True and result['created'] is True
    assert result['path'] == report and result['dest'] == report and result['mode'] == '0640'
    assert result['directories_created'] == [os.path.dirname(os.path.dirname(report)), os.path.dirname(report)]
    with open(report, encoding='utf-8') as handle:
        assert handle.read() == REPORT
    assert mode_of(report) == 0o640
    assert mode_of(os.path.dirname(report)) == 0o750 and mode_of(os.path.dirname(os.path.dirname(report))) == 0o750
    # No temporary file is left beside the report.
    assert os.listdir(os.path.dirname(report)) == [os.path.basename(report)]


def test_a_second_write_of_the_same_content_changes_nothing(report):
    run_module(incident_report_file, dict(path=report, content=REPORT))
    before = os.stat(report)
    result = run_module(incident_report_file, dict(path=report, content=REPORT))
    assert result['changed'] is False and result['created'] is False and result['directories_created'] == []
    assert os.stat(report).st_ino == before.st_ino


def test_new_content_replaces_the_file(report):
    run_module(incident_report_file, dict(path=report, content=REPORT))
    result = run_module(incident_report_file, dict(path=report, content=REPORT + 'more\n'), diff=True)
    assert result['changed'] is True and result['created'] is False
    assert result['diff']['before'] == REPORT and result['diff']['after'] == REPORT + 'more\n'
    with open(report, encoding='utf-8') as handle:
        assert handle.read() == REPORT + 'more\n'


def test_a_wrong_mode_is_corrected(report):
    run_module(incident_report_file, dict(path=report, content=REPORT))
    os.chmod(report, 0o666)
    result = run_module(incident_report_file, dict(path=report, content=REPORT, mode=0o600))
    assert result['changed'] is True and mode_of(report) == 0o600 and result['mode'] == '0600'


def test_check_mode_writes_nothing(report):
    result = run_module(incident_report_file, dict(path=report, content=REPORT), check_mode=True, diff=True)
    assert result['changed'] is True and result['created'] is True and result['path'] == report
    assert result['diff'] == dict(before='', after=REPORT, before_header=report, after_header=report)
    assert not os.path.exists(os.path.dirname(os.path.dirname(report)))


def test_an_existing_directory_keeps_its_mode(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    path = str(tmp_path / 'r.md')
    result = run_module(incident_report_file, dict(path=path, content=REPORT, directory_mode='0700'))
    assert result['changed'] is True and result['directories_created'] == []
    assert mode_of(str(tmp_path)) == 0o755


@pytest.mark.parametrize('mode', ['u=rw', '0999', 'abc', True])
def test_a_bad_mode_fails_clearly(report, mode):
    result = run_module(incident_report_file, dict(path=report, content=REPORT, mode=mode))
    assert result['failed'] is True and 'mode must be an octal mode' in result['msg']
    assert not os.path.exists(report)


def test_a_file_in_the_way_of_the_directory_fails(tmp_path):
    (tmp_path / 'reports').write_text('not a directory')
    result = run_module(incident_report_file, dict(path=str(tmp_path / 'reports' / 'r.md'), content=REPORT))
    assert result['failed'] is True and 'is not a directory' in result['msg']
