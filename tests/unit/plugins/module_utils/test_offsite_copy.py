# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A forged off-site copy against the restore role's pin, on both backup formats, with moto's S3 in-process.

The chain as the roles run it: the backup's sha256 and HMAC (_pg_backup.backup_hmac, what pg_backup returns) go
into the object's metadata (backup/tasks/offsite.yml); a restore reads that metadata (HEAD Object), downloads the
object into a private directory and pins it with pg_backup_restore in check mode (restore/tasks/restore.yml's
first task). Which forgery stops at which stage is platform-independent logic, proven here for both formats;
tests/integration/test_backup_restore.py::test_offsite_copy_round_trip_through_the_s3_server keeps what needs the
playbook (the metadata assert, the refusal without the key, nothing touched, the download removed), on tgquiz."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import hashlib
import json
import os

import pytest

boto3 = pytest.importorskip('boto3')
moto = pytest.importorskip('moto')

from ansible_collections.tgops.runbooks.plugins.module_utils import _pg_backup as pgb  # noqa: E402
from ansible_collections.tgops.runbooks.plugins.modules import pg_backup_restore  # noqa: E402

from tgops_module_runner import run_module  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups')
BACKUPS = {
    'tgquiz': ('tgquiz_fixture.dump', 'backup_20250120_143000.dump', 'tgquiznft_prod'),
    'toogoodtogo': ('toogoodtogo_fixture.sql.gz', 'toogoodtogo_20250120_030000.sql.gz', 'toogoodtogo'),
}
KEY = 'k3y-from-the-vault/0123456789abcdef'
BUCKET = 'tgops-offsite'
# A plain SQL script that runs a program as the server's superuser: what a forger would upload.
FORGED = gzip.compress(b"COPY (SELECT 1) TO PROGRAM 'id > /tmp/tgops-forged';\n")
BINS = {'psql': '/usr/bin/psql', 'pg_restore': '/usr/bin/pg_restore'}


class NothingRuns(object):
    """run_command that records: the pin must run no client."""

    def __init__(self):
        self.calls = []

    def __call__(self, argv, environ_update=None, **kwargs):
        self.calls.append(argv)
        return 1, '', 'nothing may run while pinning'


@pytest.fixture(name='s3')
def fixture_s3(monkeypatch):
    for name, value in (('AWS_ACCESS_KEY_ID', 'testing'), ('AWS_SECRET_ACCESS_KEY', 'testing'),
                        ('AWS_SESSION_TOKEN', 'testing'), ('AWS_DEFAULT_REGION', 'us-east-1')):
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        client = boto3.client('s3', region_name='us-east-1')
        client.create_bucket(Bucket=BUCKET)
        yield client


def _upload(s3, platform):
    """The genuine off-site copy as backup/tasks/offsite.yml uploads it; returns (key, bytes, metadata)."""
    fixture, name, _db = BACKUPS[platform]
    with open(os.path.join(FIXTURES, fixture), 'rb') as src:
        body = src.read()
    sha256 = hashlib.sha256(body).hexdigest()
    metadata = {'sha256': sha256, 'hmac-sha256': pgb.backup_hmac(KEY, name, sha256)}
    key = '%s/postgres/%s' % (platform, name)
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=metadata)
    return key, body, metadata


def _download_and_pin(s3, tmp_path, platform, key):
    """What the restore role does with ``key``: HEAD for the metadata, GET into a private directory, then the
    pin task (pg_backup_restore in check mode with the metadata's sha256 and HMAC). Returns the module result,
    and the client calls."""
    name = key.rsplit('/', 1)[1]
    metadata = s3.head_object(Bucket=BUCKET, Key=key)['Metadata']
    private = tmp_path / ('download-%s' % name)
    private.mkdir(mode=0o700)
    s3.download_file(BUCKET, key, str(private / name))
    runner = NothingRuns()
    result = run_module(pg_backup_restore, dict(
        login_db=BACKUPS[platform][2], login_host='127.0.0.1', login_port=5432, login_user='postgres',
        backup_dir=str(private), path=name, expected_sha256=metadata.get('sha256', ''),
        expected_hmac=metadata.get('hmac-sha256', ''), hmac_key=KEY), check_mode=True, run_command=runner,
        bin_paths=BINS)
    return result, runner.calls


def _refused(result, calls, stage, message):
    assert result.get('failed'), result
    assert result['stage'] == stage, result
    assert message in result['msg'], result['msg']
    assert result['dropped'] is False and result['changed'] is False and result['commands'] == []
    assert calls == [], 'nothing else read the download'
    assert KEY not in json.dumps(result)


@pytest.mark.parametrize('platform', sorted(BACKUPS))
def test_the_genuine_copy_is_pinned_by_its_recorded_sha256(s3, tmp_path, platform):
    """The control: the same harness pins a genuine copy, so the refusals below are the forgeries'."""
    key, body, metadata = _upload(s3, platform)
    result, calls = _download_and_pin(s3, tmp_path, platform, key)
    assert not result.get('failed'), result
    assert result['sha256'] == metadata['sha256'] == hashlib.sha256(body).hexdigest()
    assert result['format'] == ('custom' if platform == 'tgquiz' else 'plain_gz')
    assert calls == [] and KEY not in json.dumps(result)


@pytest.mark.parametrize('platform', sorted(BACKUPS))
def test_changed_bytes_under_the_uploaded_metadata_fail_the_pin(s3, tmp_path, platform):
    """The object replaced, its metadata as uploaded: the HMAC still matches the recorded sha256, the bytes don't."""
    key, _body, metadata = _upload(s3, platform)
    s3.put_object(Bucket=BUCKET, Key=key, Body=FORGED, Metadata=metadata)
    result, calls = _download_and_pin(s3, tmp_path, platform, key)
    _refused(result, calls, 'pin', 'differs from the expected')


@pytest.mark.parametrize('platform', sorted(BACKUPS))
def test_changed_bytes_and_sha256_metadata_fail_the_authentication(s3, tmp_path, platform):
    """The forgery that passes every byte check: new bytes, their sha256 written into the metadata."""
    key, _body, metadata = _upload(s3, platform)
    s3.put_object(Bucket=BUCKET, Key=key, Body=FORGED,
                  Metadata=dict(metadata, sha256=hashlib.sha256(FORGED).hexdigest()))
    result, calls = _download_and_pin(s3, tmp_path, platform, key)
    _refused(result, calls, 'authenticate', 'HMAC does not match')
