# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The secret rotation role's judgement of where the new values will be stored (secret_rotation_vault_refusal),
decided on the controller before anything is switched."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types


def secret_rotation_vault_refusal(data):
    """Why the new values would have nowhere to be stored, or an empty string when the vault file will do.

    ``data`` keys: ``vault_file`` (secret_rotation_vault_file), ``project_dir`` (the project checkout: the
    playbooks' parent directory) and ``on_awx`` (the run is an AWX job, which discards its checkout afterwards).
    """
    who = 'secret_rotation_vault_refusal'
    if not isinstance(data, dict):
        raise AnsibleFilterError('%s expects a dict (vault_file, project_dir, on_awx)' % who)
    for key in ('vault_file', 'project_dir'):
        if not isinstance(data.get(key), string_types):
            raise AnsibleFilterError('%s: %s must be a string, got %s' % (who, key, type(data.get(key)).__name__))
    if not data['vault_file']:
        return ("No vault file to store the new values in: secret_rotation_vault_file (the inventory's "
                "platform_secrets_vault_file) is empty.")
    # Resolved as the realpath filter does: a link into the checkout is inside it.
    vault_file = to_text(os.path.realpath(data['vault_file']))
    project_dir = to_text(os.path.realpath(data['project_dir']))
    if data.get('on_awx') and (vault_file + '/').startswith(project_dir + '/'):
        return ('The vault file %s is inside the project checkout, which AWX discards after the job (awx_job_id is '
                'set).' % vault_file)
    return ''


class FilterModule(object):
    def filters(self):
        return {'secret_rotation_vault_refusal': secret_rotation_vault_refusal}
