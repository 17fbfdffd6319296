"""Every incident playbook announces itself with its own severity.

The first timeline event (incident_report's event.yml) is also the incident channel's "acknowledged" message,
and the role's default severity is P0: a playbook that does not pass its severity to that first event tells
the channel "[P0]" for a P1 or P2 incident. The severity of the first event must be the report's: in the incident
skeleton (role incident) both come from one variable, which each playbook that runs the skeleton must set; a
playbook with its own flow (P0, the compromise lockdown) passes the same severity to both.
"""
import glob
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def role_includes(tasks, role_name):
    """(tasks_from, vars) of every include of ``role_name`` in a task list, blocks and always sections walked in
    order."""
    for task in tasks or []:
        for key in ('block', 'rescue', 'always'):
            if key in task:
                yield from role_includes(task[key], role_name)
        role = task.get('ansible.builtin.include_role') or {}
        if role.get('name') == role_name:
            yield role.get('tasks_from', 'main.yml'), task.get('vars') or {}


def includes(tasks):
    """Every incident_report include of a task list."""
    return role_includes(tasks, 'tgops.runbooks.incident_report')


def skeleton_runs(tasks):
    """The vars of every include of the incident skeleton in a task list."""
    return (vars_ for _entry, vars_ in role_includes(tasks, 'tgops.runbooks.incident'))


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle) or []


def incident_playbooks():
    for path in sorted(glob.glob(os.path.join(ROOT, 'playbooks', '*.yml')) + [SKELETON]):
        tasks = load(path)
        if path != SKELETON:
            tasks = [task for play in tasks for task in play.get('tasks') or []]
        found = list(includes(tasks))
        if any(entry == 'event.yml' for entry, _vars in found):
            yield os.path.relpath(path, ROOT), found


SKELETON = os.path.join(ROOT, 'roles', 'incident', 'tasks', 'main.yml')
PLAYBOOKS = list(incident_playbooks())
SKELETON_PLAYBOOKS = [(os.path.basename(path), [run for play in load(path) for run in skeleton_runs(play.get('tasks'))])
                      for path in sorted(glob.glob(os.path.join(ROOT, 'playbooks', '*.yml')))]
SKELETON_PLAYBOOKS = [(name, runs) for name, runs in SKELETON_PLAYBOOKS if runs]


def test_the_incident_playbooks_are_found():
    names = [name for name, _found in PLAYBOOKS]
    assert {'playbooks/p0_outage.yml', 'roles/incident/tasks/main.yml'} <= set(names), names
    assert 'p1_bot.yml' in [name for name, _runs in SKELETON_PLAYBOOKS]


def test_the_skeleton_takes_both_from_one_variable():
    found = dict(PLAYBOOKS)['roles/incident/tasks/main.yml']
    first = next(vars_ for entry, vars_ in found if entry == 'event.yml')
    report = [vars_ for entry, vars_ in found if entry == 'main.yml'][-1]
    assert first['incident_report_severity'] == report['incident_report_severity'] == '{{ incident_severity }}'


@pytest.mark.parametrize('name,runs', SKELETON_PLAYBOOKS, ids=[name for name, _runs in SKELETON_PLAYBOOKS])
def test_every_skeleton_playbook_names_its_severity(name, runs):
    for run in runs:
        assert run.get('incident_severity') in ('P0', 'P1', 'P2', 'P3'), (
            '%s runs the incident skeleton without a severity (the default P1 may not be its own)' % name)


OWN_FLOW = [(name, found) for name, found in PLAYBOOKS if name.startswith('playbooks/')]


@pytest.mark.parametrize('name,found', OWN_FLOW, ids=[name for name, _found in OWN_FLOW])
def test_the_first_event_carries_the_reports_severity(name, found):
    first = next(vars_ for entry, vars_ in found if entry == 'event.yml')
    reports = [vars_ for entry, vars_ in found if entry == 'main.yml']
    assert reports, '%s writes no report' % name
    severity = reports[-1].get('incident_report_severity')
    assert severity in ('P0', 'P1', 'P2', 'P3'), '%s: the report names no severity' % name
    assert first.get('incident_report_severity', 'P0') == severity, (
        '%s acknowledges as %s in the channel but reports %s' % (
            name, first.get('incident_report_severity', 'P0 (the default)'), severity))
