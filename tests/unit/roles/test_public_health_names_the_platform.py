# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every role that probes the public /health through nginx asks health_check for this platform's answer
(expected_platform, from platform_name): one judgement of "does this URL answer for this platform", in the module,
so the daily and weekly checks, triage and service_health cannot disagree (issue 21: checks called a URL proxied
to the other platform healthy)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def _tasks(role):
    with open(os.path.join(ROOT, 'roles', role, 'tasks', 'main.yml')) as handle:
        return yaml.safe_load(handle)


def _public_probes(tasks):
    for task in tasks:
        args = task.get('tgops.runbooks.health_check')
        if isinstance(args, dict) and 'public' in str(args.get('url', '')):
            yield task['name'], args


@pytest.mark.parametrize('role', ['checks', 'service_health', 'triage'])
def test_the_public_probe_names_the_platform(role):
    probes = list(_public_probes(_tasks(role)))
    assert probes, '%s probes the public URL' % role
    for name, args in probes:
        assert args.get('expected_platform') == '{{ %s_expected_platform or omit }}' % role, name
    with open(os.path.join(ROOT, 'roles', role, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    assert defaults['%s_expected_platform' % role] == "{{ platform_name | default('') }}"


def test_no_role_or_filter_compares_the_platform_itself():
    for base in ('roles', os.path.join('plugins', 'filter')):
        for path, dirs, files in os.walk(os.path.join(ROOT, base)):
            dirs[:] = [d for d in dirs if d != '__pycache__']
            for name in files:
                if name.endswith(('.yml', '.py')) and name != 'argument_specs.yml':
                    with open(os.path.join(path, name)) as handle:
                        text = handle.read()
                    # what the answer's document names: (result.response).platform / .get('response')...get('platform')
                    assert not re.search(r"response[^\n]{0,40}(\.|get\(')platform", text), os.path.join(path, name)
