"""minting_diagnosis, minting_plan, minting_actions: runbook P1 "NFT Minting Failures" decided on registered results."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.minting import minting_actions, minting_diagnosis, minting_plan

SVC = "backend-api"
WALLET_OK = {"changed": False, "balance_nanoton": 7000000000, "balance_ton": 7.0, "passed": True}
PINATA_OK = {"changed": False, "passed": True, "status": 200}
MINTS_OK = {"changed": False, "by_status": {"completed": 3}, "stuck_count": 0, "recent_failed_count": 0,
            "findings": []}
LOGS_OK = {"changed": False, "logs": {"checked": True, "errors": [], "error_count": 0, "failures": []}}
CMD = ["python", "-m", "app.services.ton.retry_failed_mints"]


def reads(**kw):
    base = {"logs": LOGS_OK, "wallet": WALLET_OK, "pinata": PINATA_OK, "mints": MINTS_OK, "service": SVC,
            "log_since": "1h", "min_balance_ton": "5"}
    base.update(kw)
    return base


def test_a_healthy_minting_has_no_finding():
    d = minting_diagnosis(reads())
    assert d["findings"] == [] and d["log_errors"] == {"count": 0, "lines": []}
    assert d["wallet_ok"] and d["pinata_ok"] and not d["low_balance"] and d["mints_read"]
    assert d["stuck_count"] == 0 and d["recent_failed_count"] == 0


def test_log_errors_are_counted_and_kept_without_the_service_prefix():
    logs = {"logs": {"errors": ["%s | ERROR mint failed: ton timeout" % SVC, "ERROR other"], "error_count": 4,
                     "failures": []}}
    d = minting_diagnosis(reads(logs=logs))
    assert d["findings"] == ["4 NFT/TON/IPFS error line(s) in the backend-api log (last 1h)"]
    assert d["log_errors"] == {"count": 4, "lines": ["ERROR mint failed: ton timeout", "ERROR other"]}


def test_logs_that_cannot_be_read_are_a_finding_with_the_reason():
    failed = {"logs": {"errors": [], "error_count": 0, "failures": ["backend-api: no such container"]}}
    assert minting_diagnosis(reads(logs=failed))["findings"] == [
        "cannot read the backend-api logs: backend-api: no such container"]
    module_failed = {"failed": True, "msg": "Docker does not answer"}
    assert minting_diagnosis(reads(logs=module_failed))["findings"] == [
        "cannot read the backend-api logs: Docker does not answer"]
    assert minting_diagnosis(reads(logs={"failed": True}))["findings"] == [
        "cannot read the backend-api logs: unknown error"]


def test_a_low_balance_is_a_finding_and_the_wallet_is_not_ok():
    low = {"balance_nanoton": 0, "balance_ton": 0, "passed": False}
    d = minting_diagnosis(reads(wallet=low, min_balance_ton=0.5))
    assert d["findings"] == ["TON wallet balance 0 TON is below the minimum 0.5 TON"]
    assert d["low_balance"] and not d["wallet_ok"] and d["balance_ton"] == 0


def test_an_unread_wallet_pinata_and_queue_are_findings_with_their_messages():
    d = minting_diagnosis(reads(wallet={"msg": "toncenter 503"}, pinata={"msg": "timed out"}, mints={"msg": "no db"}))
    assert d["findings"] == ["cannot read the TON wallet balance: toncenter 503", "cannot reach Pinata: timed out",
                             "cannot read the mint queue: no db"]
    assert not d["wallet_ok"] and not d["low_balance"] and not d["pinata_ok"] and not d["mints_read"]
    # without a message: the same words as the role's Jinja had
    d = minting_diagnosis(reads(wallet={}, pinata={}, mints={}))
    assert d["findings"] == ["cannot read the TON wallet balance: unknown error", "cannot reach Pinata: unknown error",
                             "cannot read the mint queue: unknown error"]


def test_pinata_rejecting_the_key_names_status_and_reason():
    d = minting_diagnosis(reads(pinata={"passed": False, "status": 401, "error_code": "INVALID_CREDENTIALS"}))
    assert d["findings"] == ["Pinata rejects the API key (401 INVALID_CREDENTIALS)"] and not d["pinata_ok"]
    assert minting_diagnosis(reads(pinata={"passed": False}))["findings"] == ["Pinata rejects the API key (? )"]


def test_the_queue_findings_come_after_the_reads_and_counts_are_kept():
    mints = dict(MINTS_OK, findings=["2 pending mint(s) older than 3600 s"], stuck_count=2, recent_failed_count=1)
    d = minting_diagnosis(reads(mints=mints, pinata={"passed": False, "status": 401, "error_code": "x"}))
    assert d["findings"] == ["Pinata rejects the API key (401 x)", "2 pending mint(s) older than 3600 s"]
    assert d["stuck_count"] == 2 and d["recent_failed_count"] == 1


@pytest.mark.parametrize("bad, words", [
    ([], "expects a dict"),
    (reads(service=""), "service must name"),
    (reads(wallet=None), "wallet must be a registered result"),
    (reads(mints=dict(MINTS_OK, findings="x")), "mints.findings must be a list"),
    (reads(mints=dict(MINTS_OK, stuck_count="many")), "mints.stuck_count must be a whole number, got 'many'"),
    (reads(mints=dict(MINTS_OK, recent_failed_count=-1)), "mints.recent_failed_count must be 0 or more"),
])
def test_diagnosis_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        minting_diagnosis(bad)


def diag(**kw):
    return minting_diagnosis(reads(**kw))


STUCK = dict(MINTS_OK, stuck_count=2, recent_failed_count=1)


def test_plan_retries_only_what_waits_and_only_when_confirmed_or_as_a_dry_run():
    d = diag(mints=STUCK)
    plan = minting_plan({"diagnosis": d, "retry": True, "retry_confirm": True, "check_mode": False})
    assert plan == {"retry_wanted": True, "retry_ready": True, "retry_run": True, "waiting": 3, "alerts": []}
    assert not minting_plan({"diagnosis": d, "retry": True, "retry_confirm": False})["retry_run"]
    assert minting_plan({"diagnosis": d, "retry": True, "retry_confirm": False, "retry_dry_run": True,
                         "check_mode": True})["retry_run"]
    # check mode never runs the real retry, even confirmed, without a dry run
    assert not minting_plan({"diagnosis": d, "retry": True, "retry_confirm": True, "check_mode": True})["retry_run"]
    assert not minting_plan({"diagnosis": d, "retry": False, "retry_confirm": True})["retry_wanted"]
    assert not minting_plan({"diagnosis": diag(), "retry": True, "retry_confirm": True})["retry_wanted"]
    assert not minting_plan({"diagnosis": diag(mints={"msg": "x"}), "retry": True})["retry_wanted"]


def test_plan_with_a_low_balance_alerts_and_is_not_ready():
    d = diag(mints=STUCK, wallet={"balance_nanoton": 0, "balance_ton": 0, "passed": False}, min_balance_ton=0.5)
    plan = minting_plan({"diagnosis": d, "retry": True, "retry_confirm": True})
    assert plan["retry_wanted"] and not plan["retry_ready"] and not plan["retry_run"]
    assert plan["alerts"] == ["ALERT: top up the minting TON wallet (balance 0 TON, minimum 0.5 TON), then run this "
                              "playbook again to retry the failed mints"]


@pytest.mark.parametrize("bad, words", [
    ("x", "minting_plan expects a dict"),
    ({"diagnosis": {"findings": []}}, "diagnosis must be the result of minting_diagnosis"),
])
def test_plan_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        minting_plan(bad)


def actions(d, check_mode=False, confirm=False, dry_run=False, retried=None, swept=None, retry=True):
    plan = minting_plan({"diagnosis": d, "retry": retry, "retry_confirm": confirm, "retry_dry_run": dry_run,
                         "check_mode": check_mode})
    return minting_actions({"diagnosis": d, "plan": plan, "retried": retried or {"skipped": True},
                            "swept": swept or {"skipped": True}, "check_mode": check_mode, "retry_command": CMD,
                            "retry_confirm": confirm, "retry_dry_run": dry_run, "stuck_after": 3600})


def test_nothing_waiting_is_nothing_to_do():
    assert actions(diag()) == []


def test_a_confirmed_retry_reports_the_commands_summary():
    retried = {"changed": True, "rc": 0, "stdout_lines": ["retrying 2", '{"retried": 2, "completed": 2, "failed": 0}']}
    got = actions(diag(mints=dict(MINTS_OK, recent_failed_count=2)), confirm=True, retried=retried)
    assert got == ["Retried 2 mint(s) with python -m app.services.ton.retry_failed_mints: 2 completed, 0 failed"]


def test_a_dry_run_in_check_mode_says_would_retry():
    retried = {"changed": False, "rc": 0, "stdout_lines": ['{"retried": 0}']}
    got = actions(diag(mints=dict(MINTS_OK, recent_failed_count=1)), check_mode=True, dry_run=True, retried=retried)
    assert got == ["Would retry the failed and stuck mints (python -m app.services.ton.retry_failed_mints --dry-run "
                   "listed them)"]


def test_check_mode_without_a_dry_run_says_it_did_not_run_the_command():
    got = actions(diag(mints=dict(MINTS_OK, recent_failed_count=1)), check_mode=True, confirm=True)
    assert got == ["Would retry the failed and stuck mints with python -m app.services.ton.retry_failed_mints (not "
                   "run in check mode: the inventory does not say it has a dry run, platform_mint_retry_dry_run)"]


def test_an_unconfirmed_retry_names_the_count_and_the_confirmation():
    got = actions(diag(mints=dict(MINTS_OK, recent_failed_count=3)))
    assert got == ["Not retrying 3 failed or stuck mint(s): each retry spends TON from the minting wallet; confirm "
                   "with -e p1_nft_minting_retry_confirm=true"]


def test_a_broken_wallet_and_pinata_block_the_retry_and_stuck_mints_wait_for_their_confirmation():
    d = diag(mints=STUCK, wallet={"balance_nanoton": 0, "balance_ton": 0, "passed": False},
             pinata={"passed": False, "status": 401, "error_code": "INVALID_CREDENTIALS"}, min_balance_ton=0.5)
    got = actions(d, confirm=True)
    assert got[1:] == ["Not retrying mints: the wallet balance is low and Pinata rejects the key, every mint would fail",
                       "Not marking 2 stuck mint(s) failed: confirm with -e p1_nft_minting_fail_stuck_confirm=true"]
    assert got[0].startswith("ALERT: top up the minting TON wallet")
    only_pinata = diag(mints=STUCK, pinata={"passed": False})
    assert "Not retrying mints: Pinata rejects the key, every mint would fail" in actions(only_pinata)
    only_wallet = diag(mints=STUCK, wallet={"msg": "down"})
    assert "Not retrying mints: the wallet balance is low, every mint would fail" in actions(only_wallet)


def test_swept_stuck_mints_are_named_marked_or_would_be_marked():
    swept = {"changed": True, "count": 2, "ids": [11, 12]}
    d = diag(mints=dict(MINTS_OK, stuck_count=2), wallet={"balance_nanoton": 0, "balance_ton": 0, "passed": False})
    assert "Marked 2 stuck mint(s) failed (pending for more than 3600 s; ids 11, 12)" in actions(d, swept=swept)
    assert "Would mark 2 stuck mint(s) failed (pending for more than 3600 s; ids 11, 12)" in actions(
        d, swept=swept, check_mode=True)
    # a sweep that found nothing to change says nothing, and is not "not marking"
    assert not [a for a in actions(d, swept={"changed": False, "count": 0, "ids": []}) if "mark" in a.lower()]


def test_absent_results_are_steps_that_did_not_run():
    d = diag(mints=dict(MINTS_OK, stuck_count=1))
    plan = minting_plan({"diagnosis": d, "retry": False})
    assert minting_actions({"diagnosis": d, "plan": plan}) == [
        "Not marking 1 stuck mint(s) failed: confirm with -e p1_nft_minting_fail_stuck_confirm=true"]


@pytest.mark.parametrize("bad, words", [
    (None, "minting_actions expects a dict"),
    ({"diagnosis": diag(), "plan": {}}, "plan must be the result of minting_plan"),
    ({"diagnosis": diag(), "plan": {"retry_wanted": False, "retry_ready": False, "alerts": []},
      "retry_command": "python"}, "retry_command must be an argument list"),
    ({"diagnosis": diag(), "plan": {"retry_wanted": False, "retry_ready": False, "alerts": []},
      "swept": ["x"]}, "swept must be a registered result"),
    ({"diagnosis": diag(), "plan": {"retry_wanted": True, "retry_ready": True, "alerts": []},
      "retried": {"stdout_lines": ["oops"]}}, "last line is not its JSON summary"),
    ({"diagnosis": diag(), "plan": {"retry_wanted": True, "retry_ready": True, "alerts": []},
      "retried": {"stdout_lines": []}}, "last line is not its JSON summary"),
    ({"diagnosis": diag(), "plan": {"retry_wanted": True, "retry_ready": True, "alerts": []},
      "retried": {"stdout_lines": ["[1]"]}}, "summary must be a JSON object"),
])
def test_actions_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        minting_actions(bad)


def outcome(**kw):
    from ansible_collections.tgops.runbooks.plugins.filter.minting import minting_outcome
    return minting_outcome(kw)


def test_the_outcome_of_a_healthy_minting_is_resolved_without_findings():
    out = outcome(diagnosis=diag(), mints=MINTS_OK, service=SVC)
    assert out == {"findings": [], "errors": [], "impacted": [], "resolved": True, "wait": False,
                   "health_before": 'wallet 7.0 TON, Pinata ok, mints {"completed": 3}',
                   "summary": 'Mint queue now {"completed": 3}'}


def test_the_outcome_before_the_fix_names_the_service_and_the_reads():
    logs = {"logs": {"errors": ["ERROR mint failed"], "error_count": 1, "failures": []}}
    broken = diag(mints=STUCK, logs=logs, wallet={"msg": "toncenter: timeout"}, pinata={"passed": False, "status": 401})
    out = outcome(diagnosis=broken, mints=STUCK, service=SVC)
    assert "actions" not in out and out["resolved"] is False
    assert out["impacted"] == [SVC] and out["errors"] == ["ERROR mint failed"]
    assert out["health_before"] == 'wallet unknown TON, Pinata not ok, mints {"completed": 3}'


def test_after_the_fix_the_queue_read_again_decides():
    stuck = {"changed": False, "by_status": {"pending": 2, "completed": 3}, "stuck_count": 2,
             "recent_failed_count": 0, "findings": ["2 mint transaction(s) pending for more than 3600 s"]}
    swept = {"changed": False, "by_status": {"failed": 2, "completed": 3}, "stuck_count": 0, "recent_failed_count": 0}
    out = outcome(diagnosis=diag(mints=stuck), mints=stuck, service=SVC, actions=["Marked 2 stuck mint(s) failed"],
                  mints_after=swept)
    assert out["resolved"] is True and out["actions"] == ["Marked 2 stuck mint(s) failed"]
    assert out["summary"] == 'Mint queue now {"failed": 2, "completed": 3}'
    assert out["health_before"].endswith('mints {"pending": 2, "completed": 3}')
    # Unconfirmed (or check mode): the queue read again still has them stuck.
    assert outcome(diagnosis=diag(mints=stuck), mints=stuck, service=SVC, actions=["Not marking"],
                   mints_after=stuck)["resolved"] is False
    # The second read skipped (nothing done) or failed: the diagnosis's queue and stuck count stand.
    for after in ({"skipped": True}, {"failed": True, "msg": "timeout"}, None):
        out = outcome(diagnosis=diag(mints=stuck), mints=stuck, service=SVC, actions=[], mints_after=after)
        assert out["resolved"] is False and out["summary"] == 'Mint queue now {"pending": 2, "completed": 3}'


def test_a_low_balance_or_a_rejected_key_is_never_resolved():
    low = diag(wallet={"balance_nanoton": 0, "balance_ton": 0, "passed": False}, min_balance_ton=0.5)
    assert outcome(diagnosis=low, mints=MINTS_OK, service=SVC, mints_after=MINTS_OK)["resolved"] is False
    assert outcome(diagnosis=low, mints=MINTS_OK, service=SVC)["health_before"].startswith("wallet 0 TON, Pinata ok")
    rejected = diag(pinata={"passed": False, "status": 401})
    assert outcome(diagnosis=rejected, mints=MINTS_OK, service=SVC)["resolved"] is False


@pytest.mark.parametrize("bad, words", [
    ("x", "minting_outcome expects a dict"),
    ({"diagnosis": {"findings": []}}, "diagnosis must be the result of minting_diagnosis"),
    ({"diagnosis": minting_diagnosis(reads()), "mints": "x"}, "mints must be a registered result"),
    ({"diagnosis": minting_diagnosis(reads()), "actions": "Retried"}, "actions must be a list"),
])
def test_outcome_bad_input_is_named(bad, words):
    from ansible_collections.tgops.runbooks.plugins.filter.minting import minting_outcome
    with pytest.raises(AnsibleFilterError, match=words):
        minting_outcome(bad)


def test_mints_marked_failed_are_data_the_run_changed():
    swept = {"changed": True, "count": 2, "ids": [7, 9]}
    base = dict(diagnosis=diag(mints=STUCK), mints=STUCK, service=SVC, actions=["Marked 2 stuck mint(s) failed"])
    assert outcome(swept=swept, **base)["data_changed"] == [
        "Marked 2 stuck mint(s) failed (ids 7, 9): their status in mint_transactions was pending; the platform's "
        "retry command retries failed mints"]
    assert outcome(swept=swept, check_mode=True, **base)["data_changed"] == []
    assert outcome(swept={"changed": False, "skipped": True}, **base)["data_changed"] == []
    assert "data_changed" not in outcome(diagnosis=diag(mints=STUCK), mints=STUCK, service=SVC)
