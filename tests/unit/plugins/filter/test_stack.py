"""stack_plan, stack_result: the stack role's up, restart and reload_proxy decisions and what it records."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.stack import stack_plan, stack_result

SERVICES = ["nginx", "bot", "redis"]
EMPTY = {"started": [], "restarted": [], "reloaded": [], "actions": []}
SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}


def up(**read):
    return stack_plan(dict({"action": "up", "services": SERVICES, "targets": [], "down": [],
                            "service_manager": "compose", "unit": "", "unit_active": True, "wait": True}, **read))


def restart(**read):
    return stack_plan(dict({"action": "restart", "services": SERVICES, "targets": [], "service_manager": "compose",
                            "unit": "", "wait": True, "check_mode": False}, **read))


def reload_proxy(**read):
    status = [{"service": "nginx", "state": "running", "container": "tgquiz-nginx-1"},
              {"service": "bot", "state": "running", "container": "tgquiz-bot-1"}]
    return stack_plan(dict({"action": "reload_proxy", "proxy": "nginx", "status": status, "down": []}, **read))


def test_up_starts_only_the_targets_that_are_down():
    plan = up(down=["bot", "redis"], targets=["nginx", "bot"])
    assert plan["services"] == ["bot"] and plan["via_unit"] is False and plan["wait"] is True
    assert plan["preview"] == "Would start: bot"
    assert plan["result"] == {"started": ["bot"], "restarted": [], "reloaded": [],
                              "actions": ["Started bot (docker compose up -d)"]}


def test_up_without_targets_starts_every_service_that_is_down_in_the_stack_order():
    plan = up(down=["redis", "nginx"])
    assert plan["services"] == ["nginx", "redis"]
    assert plan["result"]["actions"] == ["Started nginx, redis (docker compose up -d)"]


def test_up_leaves_a_running_stack_alone():
    plan = up()
    assert plan["services"] == [] and plan["via_unit"] is False


def test_up_starts_an_inactive_systemd_unit_through_the_unit():
    plan = up(service_manager="systemd", unit="toogoodtogo.service", unit_active=False, down=SERVICES, wait="no")
    assert plan["via_unit"] is True and plan["services"] == SERVICES and plan["wait"] is False
    assert plan["preview"] == "Would start: nginx, bot, redis (systemctl start toogoodtogo.service)"
    assert plan["result"]["actions"] == ["Started nginx, bot, redis (systemctl start toogoodtogo.service)"]
    assert plan["result"]["started"] == SERVICES


def test_up_of_an_active_systemd_unit_starts_the_services_that_are_down_with_compose():
    plan = up(service_manager="systemd", unit="toogoodtogo.service", unit_active=True, down=["bot"])
    assert plan["via_unit"] is False and plan["services"] == ["bot"]
    assert plan["result"]["actions"] == ["Started bot (docker compose up -d)"]


def test_up_records_the_start_only_when_a_start_changed_the_host():
    plan = up(down=["bot"])
    assert stack_result({"plan": plan, "runs": [{"changed": True}, SKIPPED]}) == plan["result"]
    assert stack_result({"plan": plan, "runs": [SKIPPED, {"changed": True}]}) == plan["result"]
    assert stack_result({"plan": plan, "runs": [SKIPPED, SKIPPED]}) == EMPTY
    assert stack_result({"plan": plan, "runs": [{"changed": False}, {}]}) == EMPTY


def test_restart_of_every_service_on_systemd_goes_through_the_unit():
    plan = restart(service_manager="systemd", unit="toogoodtogo.service")
    assert plan["via_unit"] is True and plan["services"] == SERVICES
    assert plan["result"] == {"started": [], "restarted": SERVICES, "reloaded": [],
                              "actions": ["Restarted nginx, bot, redis (systemctl restart toogoodtogo.service)"]}
    # naming every service as a target is the same as naming none
    assert restart(service_manager="systemd", unit="u", targets=["redis", "bot", "nginx"])["via_unit"] is True


def test_restart_of_some_services_is_a_compose_restart_even_on_systemd():
    plan = restart(service_manager="systemd", unit="toogoodtogo.service", targets=["bot"])
    assert plan["via_unit"] is False and plan["services"] == ["bot"]
    assert plan["result"]["actions"] == ["Restarted bot (quick restart)"]


def test_restart_on_compose_is_a_quick_restart_that_acts_every_time():
    plan = restart()
    assert plan["via_unit"] is False and plan["wait"] is True
    assert stack_result({"plan": plan}) == plan["result"]
    assert plan["result"]["actions"] == ["Restarted nginx, bot, redis (quick restart)"]


@pytest.mark.parametrize("wait, check_mode, expected", [
    (True, False, True), (True, True, False), (False, False, False), ("false", False, False), ("yes", "no", True)])
def test_restart_waits_unless_told_not_to_or_in_check_mode(wait, check_mode, expected):
    assert restart(wait=wait, check_mode=check_mode)["wait"] is expected


def test_reload_proxy_reloads_the_running_proxy_in_its_container():
    plan = reload_proxy()
    assert plan["reload"] is True and plan["container"] == "tgquiz-nginx-1"
    assert plan["result"] == {"started": [], "restarted": [], "reloaded": ["nginx"],
                              "actions": ["Reloaded nginx (nginx -s reload)"]}
    assert stack_result({"plan": plan}) == plan["result"]


def test_reload_proxy_leaves_a_proxy_that_is_down_alone():
    plan = reload_proxy(down=["nginx"])
    assert plan["reload"] is False and plan["result"] == EMPTY


@pytest.mark.parametrize("status, container", [
    ([], ""), ([{"service": "bot", "container": "b"}], ""), ([{"service": "nginx"}], ""),
    ([{"service": "nginx", "container": None}], None),
    ([{"service": "nginx", "container": "first"}, {"service": "nginx", "container": "second"}], "first"),
])
def test_reload_proxy_names_the_first_container_of_the_proxy(status, container):
    assert reload_proxy(status=status)["container"] == container


@pytest.mark.parametrize("bad, words", [
    ("x", "stack_plan: the input must be a dict, got str"),
    ({"action": "stop"}, "action must be one of up, restart, reload_proxy, got 'stop'"),
    ({"action": "up", "services": "nginx"}, "services must be a list, got str"),
    ({"action": "up", "down": {"nginx": 1}}, "down must be a list, got dict"),
    ({"action": "up", "unit_active": "maybe"}, "unit_active must be a boolean, got 'maybe'"),
    ({"action": "restart", "check_mode": [1]}, "check_mode must be a boolean"),
    ({"action": "restart", "unit": 3}, "unit must be a string, got int"),
    ({"action": "reload_proxy", "proxy": "nginx", "status": ["nginx"]}, "status[] must be a dict, got str"),
])
def test_bad_input_to_the_plan_fails_naming_it(bad, words):
    with pytest.raises(AnsibleFilterError, match=r"^stack_plan: ") as caught:
        stack_plan(bad)
    assert words in str(caught.value)


@pytest.mark.parametrize("bad, words", [
    ([], "the input must be a dict, got list"),
    ({}, "plan must be a dict, got NoneType"),
    ({"plan": {"services": []}}, "plan must be stack_plan's result (with result)"),
    ({"plan": {"result": EMPTY}, "runs": SKIPPED}, "runs must be a list of registered results, got dict"),
    ({"plan": {"result": EMPTY}, "runs": ["changed"]}, "runs[] must be a dict, got str"),
])
def test_bad_input_to_the_record_fails_naming_it(bad, words):
    with pytest.raises(AnsibleFilterError, match=r"^stack_result: ") as caught:
        stack_result(bad)
    assert words in str(caught.value)
