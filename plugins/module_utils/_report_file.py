# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The code of the incident_report_file module (private to tgops.runbooks): its options and the atomic
write of the report file, here so that its action plugin, which writes the file in the worker process
on the controller, imports only module_utils.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import stat
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.tgops.runbooks.plugins.module_utils._mode import octal_mode


def argument_spec():
    """The options (module and action plugin alike)."""
    return dict(
        path=dict(type='path', required=True),
        content=dict(type='str', required=True),
        mode=dict(type='raw', default='0640'),
        directory_mode=dict(type='raw', default='0750'),
    )


class ReportFileError(Exception):
    """The file could not be written: ``msg`` says why."""

    def __init__(self, msg):
        super(ReportFileError, self).__init__(msg)
        self.msg = msg


def parse_mode(value, name):
    """An octal mode (``'0640'``, ``'640'`` or the int a YAML octal number becomes) as an int."""
    mode = octal_mode(value)
    if mode is None:
        raise ReportFileError('%s must be an octal mode such as 0640, got %r' % (name, value))
    return mode


def _missing_directories(directory):
    """The directories to create for ``directory``, outermost first."""
    missing = []
    while directory and not os.path.isdir(directory):
        if os.path.lexists(directory):
            raise ReportFileError('%s exists and is not a directory' % directory)
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return list(reversed(missing))


def _read(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise ReportFileError('cannot read %s: %s' % (path, exc.strerror or exc))


def write_report(path, content, mode='0640', directory_mode='0750', check_mode=False, diff=False):
    """Write ``content`` to ``path`` atomically, creating its directory: the module's result (no I/O beyond the
    file and its directories, no AnsibleModule, so the action plugin runs it on the controller as is)."""
    path = os.path.abspath(path)
    file_mode = parse_mode(mode, 'mode')
    dir_mode = parse_mode(directory_mode, 'directory_mode')
    if os.path.isdir(path):
        raise ReportFileError('%s is a directory' % path)
    directory = os.path.dirname(path)
    missing = _missing_directories(directory)
    wanted = to_bytes(content, errors='surrogate_or_strict')
    before = None if missing else _read(path)
    current_mode = None
    if before is not None:
        current_mode = stat.S_IMODE(os.stat(path).st_mode)
    content_changed = before != wanted
    changed = content_changed or current_mode != file_mode
    result = dict(changed=changed, path=path, dest=path, mode='%04o' % file_mode, created=before is None,
                  directories_created=missing)
    if diff:
        result['diff'] = dict(before='' if before is None else to_text(before, errors='surrogate_or_replace'),
                              after=content, before_header=path, after_header=path)
    if check_mode or not changed:
        return result
    try:
        for one in missing:
            try:
                os.mkdir(one, dir_mode)
            except OSError as exc:
                if exc.errno != errno.EEXIST:  # another worker made it meanwhile: keep its mode
                    raise
                continue
            os.chmod(one, dir_mode)  # mkdir's mode is cut by the umask
        if content_changed:
            _replace(path, directory, wanted, file_mode)
        else:
            os.chmod(path, file_mode)
    except (IOError, OSError) as exc:
        raise ReportFileError('cannot write %s: %s' % (path, exc.strerror or exc))
    return result


def _replace(path, directory, data, file_mode):
    """Atomically replace ``path`` with ``data``: a temporary file in the same directory, then os.replace."""
    handle, temp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path), suffix='.tmp')
    try:
        with os.fdopen(handle, 'wb') as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), file_mode)
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
