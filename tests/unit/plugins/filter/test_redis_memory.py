"""redis_memory_actions: the flush done, would be done or waiting for its confirmation, then the long-term advice;
redis_memory_outcome: what the incident report says before and after the relief."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.redis_memory import redis_memory_actions, redis_memory_outcome

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


# redis_memory_outcome: the incident skeleton's view, before and after the relief

FULL = dict(BEFORE, findings=["used memory 98.2% of maxmemory with policy noeviction: writes fail with OOM"],
            maxmemory_policy="noeviction")
ROOM = {"changed": False, "passed": True, "findings": [], "percent": 3.5, "maxmemory_policy": "noeviction"}


def outcome(**kw):
    return redis_memory_outcome(dict({"result": FULL, "service": "redis"}, **kw))


def test_the_diagnosis_names_redis_impacted_and_resolves_nothing_yet():
    assert outcome() == {"findings": FULL["findings"], "impacted": ["redis"],
                         "health_before": "98.2% of maxmemory (noeviction)",
                         "no_findings": "Redis has room (98.2% of maxmemory)", "resolved": False}
    room = outcome(result=ROOM, service="cache")
    assert room["impacted"] == [] and room["no_findings"] == "Redis has room (3.5% of maxmemory)"
    # Without a maxmemory the module says percent null: named as such, not "None%".
    unlimited = outcome(result=dict(ROOM, percent=None))
    assert unlimited["no_findings"] == "Redis has room (no maxmemory limit)"
    assert unlimited["health_before"] == "no maxmemory limit (noeviction)"


def test_a_flush_that_freed_enough_resolves_and_waits_for_the_application():
    fixed = outcome(final=ROOM, flushed={"changed": True, "keys_before": 4000}, actions=["Flushed ..."], db=0,
                    flush_confirm=True)
    assert fixed["resolved"] is True and fixed["wait"] is True and "failure" not in fixed
    assert fixed["actions"] == ["Flushed ..."] and fixed["summary"] == "Redis memory: 3.5% of maxmemory"
    assert fixed["data_changed"] == ["Flushed Redis database 0 (4000 keys; FLUSHDB): the cached keys are gone, "
                                     "nothing keeps a copy"]
    # check mode flushes nothing: no data changed
    assert outcome(final=FULL, flushed={"changed": True}, actions=[], db=0, flush_confirm=True,
                   check_mode=True)["data_changed"] == []


def test_an_unconfirmed_flush_fails_with_its_confirmation_and_waits_for_nothing():
    left = outcome(final=FULL, flushed={"skipped": True}, actions=["Not flushing ..."], db="1", flush_confirm=False)
    assert left["resolved"] is False and left["wait"] is False and left["data_changed"] == []
    assert left["failure"] == (FULL["findings"][0] + ". Relieve it with -e redis_memory_flush_confirm=true "
                               "(FLUSHDB of database 1).")


def test_a_flush_that_did_not_free_enough_advises_raising_maxmemory():
    left = outcome(final=FULL, flushed={"changed": True}, actions=[], db=0, flush_confirm=True)
    assert left["failure"] == FULL["findings"][0] + ". FLUSHDB did not free enough: raise maxmemory."
    # Redis with room skips the relief: nothing flushed, nothing to wait for.
    assert outcome(result=ROOM, final=ROOM, flushed={}, actions=[])["wait"] is False


@pytest.mark.parametrize("bad, words", [
    ([], "expects a dict"),
    ({}, "result must be redis_memory_info's result"),
    ({"result": ROOM, "final": {"percent": 1}}, "final must be redis_memory_info's result"),
    ({"result": dict(ROOM, findings="x")}, "result.findings must be a list"),
])
def test_a_bad_outcome_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match="redis_memory_outcome.*" + words):
        redis_memory_outcome(bad)
