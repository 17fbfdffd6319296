"""env_file's backup copy: it holds the previous secrets, so it is owner-only whatever the file's mode was."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.tgops.runbooks.plugins.modules import env_file
from tgops_module_runner import run_module

OLD = 'old-db-Passw0rd-1'
NEW = 'new-db-Passw0rd-2'


@pytest.mark.parametrize('mode', [0o644, 0o640, 0o600])
def test_the_backup_copy_is_0600_even_of_a_world_readable_env_file(tmp_path, mode):
    path = tmp_path / '.env.production'
    path.write_text('# app\nPOSTGRES_PASSWORD=%s\nSECRET_KEY=abc\n' % OLD)
    os.chmod(str(path), mode)
    old_mtime = os.stat(str(path)).st_mtime
    result = run_module(env_file, {'path': str(path), 'values': {'POSTGRES_PASSWORD': NEW}, 'backup': True})
    assert result['changed'] and result['backup_file']
    backup = result['backup_file']
    assert os.path.dirname(backup) == str(tmp_path) and os.path.basename(backup).startswith('.env.production.')
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    with open(backup) as f:
        assert f.read() == '# app\nPOSTGRES_PASSWORD=%s\nSECRET_KEY=abc\n' % OLD
    assert os.stat(backup).st_mtime == old_mtime
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert NEW in path.read_text() and OLD not in path.read_text()


def test_no_change_no_backup(tmp_path):
    path = tmp_path / '.env'
    path.write_text('POSTGRES_PASSWORD=%s\n' % NEW)
    result = run_module(env_file, {'path': str(path), 'values': {'POSTGRES_PASSWORD': NEW}, 'backup': True})
    assert 'backup_file' not in result and os.listdir(str(tmp_path)) == ['.env']
