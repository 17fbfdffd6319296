"""The log_scan filter: the runbook's grep, with every secret masked before lines are shortened."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.log_scan import FilterModule, log_scan

TOKEN = "123456789:AAE-secret/token+x"
LINES = [
    "INFO app started",
    "ERROR: Connection to database failed: TimeoutError: db pool exhausted",
    "WARNING db pool: connection invalidated (pool size=5 checked_out=5)",
    "ERROR telegram: GET https://api.telegram.org/bot%s/getMe 401" % TOKEN,
    "ERROR quoted https://x/bot123456789%3AAAE-secret%2Ftoken%2Bx/getMe",
    'ERROR json {"token": "123456789:AAE-secret\\/token+x"}',
]


def test_matches_any_pattern_case_insensitively_and_counts():
    result = log_scan(LINES, ["POOL"])
    assert result["count"] == 2 and result["lines"][0].startswith("ERROR: Connection")


def test_every_spelling_of_a_secret_is_masked():
    result = log_scan(LINES, ["error"], [TOKEN, ""])
    assert result["count"] == 4
    joined = "\n".join(result["lines"])
    assert "AAE-secret" not in joined
    assert joined.count("********") == 3


def test_masked_before_truncation_and_limit_keeps_the_last():
    long_line = "ERROR " + "x" * 495 + TOKEN
    result = log_scan([long_line] * 3 + ["ERROR last"], ["error"], [TOKEN], limit=2)
    assert result["count"] == 4 and result["lines"][-1] == "ERROR last"
    assert all(TOKEN[:5] not in line for line in result["lines"])
    assert all(len(line) <= 500 for line in result["lines"])
    assert log_scan(LINES, ["error"], limit=0)["lines"] == []


def test_text_input_and_registration():
    assert log_scan("a pool\nb\n", "pool")["count"] == 1
    assert FilterModule().filters()["log_scan"] is log_scan


@pytest.mark.parametrize("args", [(42, ["x"]), (LINES, ["("]), (LINES, ["x"], [], "many")])
def test_bad_input_is_a_clear_error(args):
    with pytest.raises(AnsibleFilterError, match="log_scan"):
        log_scan(*args)
