"""The incident_report_file action plugin writes the report in the worker process, with no module shipped."""
import os
import stat

import pytest

from ansible_collections.tgops.runbooks.plugins.action import incident_report_file

from tgops_module_runner import run_action as run_plugin

REPORT = u'## Incident Report: toogoodtogo\n\n### Timeline\n- 23:11 UTC - acknowledged\n'


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def run_action(args, check_mode=False, diff=False):
    return run_plugin(incident_report_file, args, check_mode=check_mode, diff=diff)


@pytest.fixture
def report(tmp_path):
    return str(tmp_path / 'reports' / '2026-12-06-p1-toogoodtogo-lab-231159.md')


def test_the_action_needs_no_connection():
    assert incident_report_file.ActionModule._requires_connection is False


def test_creates_the_directory_and_the_file(report):
    result = run_action(dict(path=report, content=REPORT))
    assert 'failed' not in result and result['changed'] is True and result['created'] is True
    assert result['path'] == report and result['dest'] == report
    with open(report, encoding='utf-8') as handle:
        assert handle.read() == REPORT
    assert mode_of(report) == 0o640 and mode_of(os.path.dirname(report)) == 0o750
    assert os.listdir(os.path.dirname(report)) == [os.path.basename(report)]


def test_modes_are_options(report):
    result = run_action(dict(path=report, content=REPORT, mode='0600', directory_mode='0700'))
    assert result['mode'] == '0600' and mode_of(report) == 0o600 and mode_of(os.path.dirname(report)) == 0o700


def test_a_second_write_is_not_a_change(report):
    run_action(dict(path=report, content=REPORT))
    result = run_action(dict(path=report, content=REPORT), diff=True)
    assert result['changed'] is False and result['created'] is False
    assert result['diff']['before'] == result['diff']['after'] == REPORT


def test_check_mode_writes_nothing_and_says_what_it_would_do(report):
    result = run_action(dict(path=report, content=REPORT), check_mode=True, diff=True)
    assert result['changed'] is True and result['created'] is True
    assert result['directories_created'] == [os.path.dirname(report)]
    assert result['diff']['before'] == '' and result['diff']['after'] == REPORT
    assert result['diff']['after_header'] == report
    assert not os.path.exists(os.path.dirname(report))


def test_the_path_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path))
    result = run_action(dict(path='~/reports/r.md', content=REPORT))
    assert result['path'] == str(tmp_path / 'reports' / 'r.md') and os.path.isfile(result['path'])


def test_a_write_error_fails_the_task(tmp_path):
    (tmp_path / 'r.md').mkdir()
    result = run_action(dict(path=str(tmp_path / 'r.md'), content=REPORT))
    assert result['failed'] is True and result['msg'] == '%s is a directory' % (tmp_path / 'r.md')


def test_the_options_are_validated(report):
    # returned, not raised: ansible-core applies a task's failed_when only to a returned failure
    result = run_action(dict(path=report))
    assert result['failed'] is True and 'content' in result['msg']
    result = run_action(dict(path=report, content=REPORT, mode='rw'))
    assert result['failed'] is True and 'mode must be an octal mode' in result['msg']
