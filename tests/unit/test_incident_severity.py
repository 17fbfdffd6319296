"""Every incident playbook announces itself with its own severity.

The first timeline event (incident_report's event.yml) is also the incident channel's "acknowledged" message,
and the role's default severity is P0: a playbook that does not pass its severity to that first event tells
the channel "[P0]" for a P1 or P2 incident. The severity of the first event must be the report's.
"""
import glob
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def includes(tasks):
    """Every incident_report include of a task list, blocks and always sections walked in order."""
    for task in tasks or []:
        for key in ('block', 'rescue', 'always'):
            if key in task:
                yield from includes(task[key])
        role = task.get('ansible.builtin.include_role') or {}
        if role.get('name') == 'tgops.runbooks.incident_report':
            yield role.get('tasks_from', 'main.yml'), task.get('vars') or {}


def incident_playbooks():
    for path in sorted(glob.glob(os.path.join(ROOT, 'playbooks', '*.yml'))):
        with open(path) as handle:
            plays = yaml.safe_load(handle) or []
        found = [inc for play in plays for inc in includes(play.get('tasks'))]
        if any(entry == 'event.yml' for entry, _vars in found):
            yield os.path.basename(path), found


PLAYBOOKS = list(incident_playbooks())


def test_the_incident_playbooks_are_found():
    names = [name for name, _found in PLAYBOOKS]
    assert {'p0_outage.yml', 'p1_bot.yml', 'p2_memory.yml', 'compromise_lockdown.yml'} <= set(names), names


@pytest.mark.parametrize('name,found', PLAYBOOKS, ids=[name for name, _found in PLAYBOOKS])
def test_the_first_event_carries_the_reports_severity(name, found):
    first = next(vars_ for entry, vars_ in found if entry == 'event.yml')
    reports = [vars_ for entry, vars_ in found if entry == 'main.yml']
    assert reports, '%s writes no report' % name
    severity = reports[-1].get('incident_report_severity')
    assert severity in ('P0', 'P1', 'P2', 'P3'), '%s: the report names no severity' % name
    assert first.get('incident_report_severity', 'P0') == severity, (
        '%s acknowledges as %s in the channel but reports %s' % (
            name, first.get('incident_report_severity', 'P0 (the default)'), severity))
