# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How the modules find a compose project's containers (private to tgops.runbooks): one way for all of them.

By the labels Docker Compose puts on every container it creates (``com.docker.compose.project`` and
``.service``), never by container name (``<project>-<service>-1``, ``<project>_<service>_1`` or a
``container_name:`` of the operator's choice), so a project started by ``docker compose`` or by a systemd unit
running it is found alike. One-off containers (``docker compose run``, label ``com.docker.compose.oneoff=True``)
are not the service: ``docker compose ps`` leaves them out, and so does this. Pure functions: the modules run
the argv and hand the output or the ``docker inspect`` documents back.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

PROJECT_LABEL = 'com.docker.compose.project'
SERVICE_LABEL = 'com.docker.compose.service'
ONEOFF_LABEL = 'com.docker.compose.oneoff'

# One line per container: its full ID, a tab, and whether compose created it for a one-off `run`.
_PS_FORMAT = '{{.ID}}\t{{.Label "%s"}}' % ONEOFF_LABEL


def ps_argv(docker, project, service=None, stopped=False):
    """``docker ps`` listing the containers of compose ``project`` (of its ``service`` only, when given): the running
    ones, or all of them with ``stopped`` (an exited service is a finding, not an absence). Read with
    :func:`ps_ids`."""
    argv = [docker, 'ps', '--no-trunc', '--format', _PS_FORMAT]
    if stopped:
        argv.append('--all')
    argv += ['--filter', 'label=%s=%s' % (PROJECT_LABEL, project)]
    if service:
        argv += ['--filter', 'label=%s=%s' % (SERVICE_LABEL, service)]
    return argv


def ps_ids(out):
    """The container IDs in the output of :func:`ps_argv`'s command, in its order, one-off containers left out.

    A line without the tab (a bare ID) is a service container: an older engine that prints only IDs loses
    nothing."""
    ids = []
    for line in (out or '').splitlines():
        cid, dummy, oneoff = line.strip().partition('\t')
        if cid and oneoff.strip().lower() != 'true':
            ids.append(cid)
    return ids


def labels(doc):
    """The labels of a ``docker inspect`` document ({} for anything else)."""
    if not isinstance(doc, dict):
        return {}
    found = (doc.get('Config') or {}).get('Labels')
    return found if isinstance(found, dict) else {}


def is_oneoff(doc):
    """Whether a ``docker inspect`` document is a one-off container (``docker compose run``)."""
    return str(labels(doc).get(ONEOFF_LABEL, '')).lower() == 'true'


def service_of(doc):
    """The compose service a ``docker inspect`` document is a container of; '' for a one-off container or a
    container compose did not create."""
    if is_oneoff(doc):
        return ''
    return labels(doc).get(SERVICE_LABEL) or ''
