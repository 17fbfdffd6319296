# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The redis_clear playbook's report (the tgquiz runbook's "Clear Redis Cache"): one sentence from the redis_keys
result, for a pattern or a FLUSHALL, a real run or a dry one (``redis_clear_report``)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean


def _bool(read, key):
    try:
        return boolean(read.get(key, False), strict=True)
    except TypeError:
        raise AnsibleFilterError('redis_clear_report: %s must be a boolean, got %r' % (key, read.get(key)))


def redis_clear_report(read):
    """The sentence the playbook reports.

    ``read`` keys: ``result`` (the registered redis_keys result), ``pattern`` (redis_clear_pattern), ``flushall``
    (redis_clear_flushall) and ``check_mode`` (ansible_check_mode)."""
    if not isinstance(read, dict):
        raise AnsibleFilterError('redis_clear_report: the input must be a dict, got %s' % type(read).__name__)
    result = read.get('result')
    if not isinstance(result, dict):
        raise AnsibleFilterError('redis_clear_report: result must be redis_keys\' registered result, got %s'
                                 % type(result).__name__)
    check_mode = _bool(read, 'check_mode')
    if _bool(read, 'flushall'):
        return 'FLUSHALL: %s keys %s' % (to_text(result.get('keys_before')),
                                         'would be removed' if check_mode else 'removed')
    matched = result.get('matched')
    if check_mode:
        outcome = 'would delete them' if matched else 'nothing to delete'
    else:
        outcome = '%s deleted' % to_text(result.get('deleted'))
    return '%s keys match %s; %s' % (to_text(matched), to_text(read.get('pattern')), outcome)


class FilterModule(object):
    def filters(self):
        return {'redis_clear_report': redis_clear_report}
