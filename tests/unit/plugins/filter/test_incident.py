"""incident_outcome: the incident skeleton's one decision - the report's fields, the status and the timeline's
sentences from a diagnosing role's outcome and the service's health."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.incident import CHECK_MODE_LINE, incident_outcome

FIXED = {'findings': ['webhook is not set'], 'actions': ['Set the webhook'], 'resolved': True,
         'impacted': ['bot'], 'errors': ['ERROR boom'], 'health_before': 'getMe ok', 'summary': 'Telegram answers'}


def test_resolved_needs_the_cause_gone_and_a_healthy_service():
    assert incident_outcome(FIXED, healthy=True, health_status='ok')['status'] == 'Resolved'
    # the cause fixed behind a dead application is not resolved, nor a healthy application with the cause in place
    assert incident_outcome(FIXED, healthy=False, health_status=None)['status'] == 'Investigating'
    assert incident_outcome(dict(FIXED, resolved=False), healthy=True)['status'] == 'Investigating'


def test_an_outcome_never_set_is_a_diagnosis_that_did_not_complete():
    for missing in (None, {}):
        result = incident_outcome(missing, healthy=True, health_status='ok')
        assert result['status'] == 'Investigating'
        assert result['findings'] == ['diagnosis did not complete']
        assert result['health_before'] == 'unknown'
    assert incident_outcome({}, incomplete='integrity check did not complete')['findings'] == [
        'integrity check did not complete']
    # "resolved" without a diagnosis (findings never set) is not believed
    assert not incident_outcome({'resolved': True}, healthy=True)['resolved']


def test_the_report_fields_and_the_timeline_sentences():
    result = incident_outcome(dict(FIXED, health_after='host memory 40% used'), healthy=True, health_status='ok')
    assert result['findings'] == ['webhook is not set']
    assert result['impacted'] == ['bot'] and result['errors'] == ['ERROR boom']
    assert result['health_before'] == 'getMe ok'
    assert result['health_after'] == 'ok; host memory 40% used'
    assert result['diagnosis_event'] == 'Diagnosis: webhook is not set'
    assert result['outcome_event'] == 'Telegram answers; health ok'
    assert result['report_actions'] == ['Set the webhook']
    quiet = incident_outcome({'findings': [], 'no_findings': 'the disk has room'}, health_status=None)
    assert quiet['diagnosis_event'] == 'Diagnosis: the disk has room'
    assert quiet['outcome_event'] == 'Health no answer'
    assert quiet['health_after'] == 'no answer'
    assert incident_outcome({'findings': []})['diagnosis_event'] == 'Diagnosis: nothing wrong found'


def test_check_mode_says_so_and_never_fails_the_run():
    result = incident_outcome(dict(FIXED, failure='Still over 90%'), check_mode=True)
    assert result['report_actions'] == ['Set the webhook', CHECK_MODE_LINE]
    assert result['actions'] == ['Set the webhook']
    assert result['failure'] == ''
    assert incident_outcome(dict(FIXED, failure='Still over 90%'))['failure'] == 'Still over 90%'


def test_the_health_wait_follows_what_was_done():
    assert incident_outcome(FIXED)['health_timeout'] == 60
    assert incident_outcome(FIXED, check_mode=True)['health_timeout'] == 5
    assert incident_outcome({'findings': []})['health_timeout'] == 5
    # a role may ask for the wait without an action sentence (a restart it only confirmed), or waive it
    assert incident_outcome({'findings': [], 'wait': True})['health_timeout'] == 60
    assert incident_outcome(dict(FIXED, wait=False))['health_timeout'] == 5


def test_flags_accept_ansibles_strings():
    assert incident_outcome(dict(FIXED, resolved='True'), healthy='true')['status'] == 'Resolved'
    assert incident_outcome(dict(FIXED, resolved='False'), healthy=True)['status'] == 'Investigating'


@pytest.mark.parametrize('outcome,message', [
    (['x'], 'the outcome must be a dict'),
    ({'finding': ['x']}, 'unknown outcome key(s) finding'),
    ({'findings': 'webhook is not set'}, 'findings must be a list of sentences'),
    ({'findings': [], 'summary': ['x']}, 'summary must be a sentence'),
    ({'findings': [], 'resolved': 'maybe'}, 'resolved must be true or false'),
])
def test_bad_outcomes_are_refused_by_name(outcome, message):
    with pytest.raises(AnsibleFilterError, match=message.replace('(', r'\(').replace(')', r'\)')):
        incident_outcome(outcome)


def test_data_changed_is_passed_to_the_report_and_checked():
    changed = incident_outcome(dict(FIXED, data_changed=['Redis db 0 flushed (120 keys)']))
    assert changed['data_changed'] == ['Redis db 0 flushed (120 keys)']
    assert incident_outcome(FIXED)['data_changed'] == []
    with pytest.raises(AnsibleFilterError, match='data_changed must be a list'):
        incident_outcome(dict(FIXED, data_changed='flushed'))
