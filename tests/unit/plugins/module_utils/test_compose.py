# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""module_utils/_compose: the one way the modules find a compose project's containers."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tgops.runbooks.plugins.module_utils import _compose


def test_ps_argv_by_labels_running_or_all():
    argv = _compose.ps_argv('/usr/bin/docker', 'toogoodtogo')
    assert argv[:3] == ['/usr/bin/docker', 'ps', '--no-trunc']
    assert argv[argv.index('--format') + 1] == '{{.ID}}\t{{.Label "com.docker.compose.oneoff"}}'
    assert argv[-2:] == ['--filter', 'label=com.docker.compose.project=toogoodtogo'] and '--all' not in argv
    argv = _compose.ps_argv('docker', 'tgquiz', service='redis', stopped=True)
    assert '--all' in argv
    assert argv[-4:] == ['--filter', 'label=com.docker.compose.project=tgquiz',
                         '--filter', 'label=com.docker.compose.service=redis']


def test_ps_ids_leave_out_one_off_containers():
    out = 'aaa\tTrue\nbbb\tFalse\n\nccc\t\nddd\n'
    assert _compose.ps_ids(out) == ['bbb', 'ccc', 'ddd']
    assert _compose.ps_ids('') == [] and _compose.ps_ids(None) == []


def test_service_of_an_inspect_document():
    labels = {'com.docker.compose.project': 'p', 'com.docker.compose.service': 'bot'}
    assert _compose.service_of({'Config': {'Labels': labels}}) == 'bot'
    oneoff = dict(labels, **{'com.docker.compose.oneoff': 'True'})
    assert _compose.is_oneoff({'Config': {'Labels': oneoff}})
    assert _compose.service_of({'Config': {'Labels': oneoff}}) == ''
    for stray in ({'Config': {'Labels': None}}, {'Config': None}, 'garbage', None, {'Config': {'Labels': ['x']}}):
        assert _compose.service_of(stray) == ''
