# -*- coding: utf-8 -*-
# Copyright: tgops.runbooks developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # The releases file shared by release and release_info.
    # Matches releases_file_argument_spec() in plugins/module_utils/_release.py.
    DOCUMENTATION = r"""
options:
  path:
    description:
      - The host's releases file, for example V(/var/lib/toogoodtogo/releases.jsonl) (the inventory's
        C(platform_releases_file)).
      - JSON lines, oldest first, one event each - C(time) (UTC), C(action) (C(baseline), C(deploy) or
        C(rollback)), C(release), C(commit), C(from_release), C(from_commit), C(operator), C(result)
        (C(success), C(failed) or C(rolled_back)) and an optional C(message).
      - A missing file is an empty history. A line that is not a valid record is skipped and named in the
        warnings, so one damaged line never prevents a rollback.
    type: path
    required: true
"""
