"""redis_memory_actions: the flush done, would be done or waiting for its confirmation, then the long-term advice."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.redis_memory import redis_memory_actions

BEFORE = {"changed": False, "passed": False, "maxmemory": 2 * 1048576, "percent": 98.2}
ADVICE = "Long term: raise maxmemory (now 2.0 MiB) in redis.conf or the Redis command line of the compose file"


def test_an_unconfirmed_flush_says_how_to_confirm_and_gives_the_advice():
    got = redis_memory_actions({"before": BEFORE, "flushed": {"skipped": True}, "db": 0, "check_mode": False})
    assert got == ["Not flushing Redis database 0: confirm with -e redis_memory_flush_confirm=true", ADVICE]
    # absent results are steps that did not run
    assert redis_memory_actions({"before": BEFORE})[0].startswith("Not flushing Redis database 0:")


def test_a_flush_names_the_keys_and_the_memory_read_after_it():
    got = redis_memory_actions({"before": BEFORE, "flushed": {"changed": True, "keys_before": 1200},
                                "after": {"percent": 3.5}, "db": "1", "check_mode": False})
    assert got == ["Flushed Redis database 1 (1200 keys; FLUSHDB): memory now 3.5% of maxmemory", ADVICE]


def test_check_mode_would_flush_and_an_unread_after_is_a_question_mark():
    got = redis_memory_actions({"before": BEFORE, "flushed": {"changed": True, "keys_before": 7},
                                "after": {"skipped": True}, "db": 0, "check_mode": True})
    assert got[0] == "Would flush Redis database 0 (7 keys; FLUSHDB): memory now ?% of maxmemory"
    got = redis_memory_actions({"before": dict(BEFORE, maxmemory=1572864), "flushed": {"changed": True},
                                "after": None, "db": 0})
    assert got == ["Flushed Redis database 0 (? keys; FLUSHDB): memory now ?% of maxmemory",
                   ADVICE.replace("2.0 MiB", "1.5 MiB")]


@pytest.mark.parametrize("bad, words", [
    ([], "expects a dict"),
    ({}, "before must be redis_memory_info's result"),
    ({"before": {"percent": 1}}, "with maxmemory"),
    ({"before": {"maxmemory": "lots"}}, "before.maxmemory must be a number of bytes, got 'lots'"),
])
def test_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        redis_memory_actions(bad)
