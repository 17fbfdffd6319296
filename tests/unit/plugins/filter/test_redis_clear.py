"""redis_clear_report: the redis_clear playbook's sentence for a pattern or a FLUSHALL, real or dry run."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.redis_clear import redis_clear_report


@pytest.mark.parametrize("result, flushall, check_mode, sentence", [
    ({"matched": 42, "deleted": 0}, False, True, "42 keys match quiz:*; would delete them"),
    ({"matched": 0, "deleted": 0}, False, True, "0 keys match quiz:*; nothing to delete"),
    ({"matched": 42, "deleted": 42}, False, False, "42 keys match quiz:*; 42 deleted"),
    ({"matched": 0, "deleted": 0}, "false", "no", "0 keys match quiz:*; 0 deleted"),
    ({"keys_before": 7}, True, False, "FLUSHALL: 7 keys removed"),
    ({"keys_before": 7}, "true", True, "FLUSHALL: 7 keys would be removed"),
])
def test_the_sentence(result, flushall, check_mode, sentence):
    assert redis_clear_report({"result": result, "pattern": "quiz:*", "flushall": flushall,
                               "check_mode": check_mode}) == sentence


@pytest.mark.parametrize("bad, words", [
    ("x", "the input must be a dict, got str"),
    ({}, "result must be redis_keys' registered result, got NoneType"),
    ({"result": {}, "flushall": "perhaps"}, "flushall must be a boolean, got 'perhaps'"),
    ({"result": {}, "check_mode": [True]}, "check_mode must be a boolean"),
])
def test_bad_input_fails_naming_it(bad, words):
    with pytest.raises(AnsibleFilterError, match=r"^redis_clear_report: ") as caught:
        redis_clear_report(bad)
    assert words in str(caught.value)
