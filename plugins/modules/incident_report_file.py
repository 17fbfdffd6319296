#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: incident_report_file
short_description: Write an incident report file on the controller, creating its directory
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Writes O(content) - typically the rendered post-incident template - to O(path), creating the file's
    directory (and any missing parent) with O(directory_mode) when it does not exist.
  - The file is written atomically - a temporary file in the same directory, then renamed over O(path) - so a
    reader never sees a half-written report; its mode is set to O(mode).
  - Runs on the controller - the collection's action plugin of the same name writes the file in the task's
    worker process, with no module shipped anywhere - so the task needs no C(delegate_to) V(localhost). It
    replaces the pair M(ansible.builtin.file) (the directory) plus M(ansible.builtin.template) delegated to
    the controller, which each cost a module run. Executed as a module (without the action plugin), it does the
    same on the host it runs on.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.controller_only
attributes:
  check_mode:
    support: full
    details:
      - Writes nothing, creates no directory; reports whether the file would be created or changed.
  diff_mode:
    support: full
    details:
      - The diff shows the file's content before (empty when the file does not exist) and after.
  idempotent:
    support: full
    details:
      - Writing the content the file already has, with its mode, reports no change.
options:
  path:
    description:
      - The report file's full path, for example V(/srv/reports/2026-11-23-p0-tgquiz-lab-031500.md).
      - Its directory is created when missing.
    type: path
    required: true
  content:
    description:
      - The file's content, written as UTF-8 exactly as given (no newline is added).
    type: str
    required: true
  mode:
    description:
      - Mode of the file, octal - a string such as V('0640') or a YAML octal number.
    type: raw
    default: '0640'
  directory_mode:
    description:
      - Mode of the directories the module creates, octal. An existing directory keeps its mode.
    type: raw
    default: '0750'
notes:
  - The file and the directories it creates are owned by the user running the task (on the controller, the
    user running C(ansible-playbook)); there are no owner or group options.
  - Symbolic modes (V(u=rw,g=r)) are not accepted, only octal ones.
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
  - module: tgops.runbooks.incident_notify
"""

EXAMPLES = r"""
- name: Write the incident report on the controller
  tgops.runbooks.incident_report_file:
    path: "{{ incident_report_dir }}/{{ incident_report_name }}.md"
    content: "{{ lookup('ansible.builtin.template', 'incident_report.md.j2') }}"
  register: incident_report_file

- name: Say where the report is
  ansible.builtin.debug:
    msg: "Incident report: {{ incident_report_file.path }}"

- name: A report readable by the whole on-call group
  tgops.runbooks.incident_report_file:
    path: /srv/incident-reports/latest.md
    content: "{{ report_text }}"
    mode: '0644'
    directory_mode: '0755'
"""

RETURN = r"""
path:
  description: The report file's absolute path (in check mode, the file that would be written).
  returned: always
  type: str
  sample: /srv/reports/2026-11-23-p0-tgquiz-lab-031500.md
dest:
  description: The same as RV(path), under the name M(ansible.builtin.template) and M(ansible.builtin.copy) use.
  returned: always
  type: str
  sample: /srv/reports/2026-11-23-p0-tgquiz-lab-031500.md
mode:
  description: The file's mode after the task (what it would be, in check mode), as an octal string.
  returned: always
  type: str
  sample: '0640'
created:
  description: V(true) when the file did not exist before (in check mode, when it would be created).
  returned: always
  type: bool
  sample: true
directories_created:
  description: The directories created for the file, outermost first (those that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/srv/reports]
"""

from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._report_file import (
    ReportFileError,
    argument_spec,
    write_report,
)


def main():
    module = new_module(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        result = write_report(params['path'], params['content'], params['mode'], params['directory_mode'],
                              check_mode=module.check_mode, diff=module._diff)
    except ReportFileError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
