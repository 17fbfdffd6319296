"""disk_space_actions: the clean-up's sentences, each branch of what ran, would run, waits for a confirmation or remains."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.disk_space import disk_space_actions

B = "/opt/backups/postgres/"
MB = 1048576


def plan(**kw):
    base = {"backups_remove": [], "backups_bytes": 0, "old_files": [], "old_bytes": 0, "docker": None,
            "passed": True, "over": []}
    base.update(kw)
    return base


def data(**kw):
    base = {"plan": plan(), "max_percent": 90, "check_mode": False, "backups_confirm": False,
            "prune_confirm": False, "pruned_backups": {"skipped": True}, "docker_pruned": {"skipped": True}}
    base.update(kw)
    return base


FULL = plan(backups_remove=[B + "toogoodtogo_20250101.sql.gz", B + "toogoodtogo_20250102.sql.gz"],
            backups_bytes=3 * MB, old_files=[B + "a.sql.gz.old"], old_bytes=MB // 2, passed=False, over=[B])
PRUNED = {"changed": True, "removed": FULL["backups_remove"], "kept": ["k%d" % i for i in range(7)],
          "labelled": [B + "pre_deployment.sql.gz"]}


def test_nothing_to_do_says_nothing():
    assert disk_space_actions(data()) == []


def test_the_confirmed_clean_up_says_what_it_removed_and_what_it_kept():
    acts = disk_space_actions(data(plan=FULL, final=plan(), backups_confirm=True, pruned_backups=PRUNED))
    assert acts == [
        "Removed 2 backup(s) beyond retention (3.0 MB): toogoodtogo_20250101.sql.gz, toogoodtogo_20250102.sql.gz; "
        "kept the newest 7 daily and 1 labelled backup(s)",
        "Removed 1 leftover(s) (0.5 MB): a.sql.gz.old"]


def test_check_mode_says_would_remove():
    acts = disk_space_actions(data(plan=FULL, final=FULL, check_mode=True, backups_confirm=True,
                                   pruned_backups=PRUNED))
    assert acts[0].startswith("Would remove 2 backup(s) beyond retention (3.0 MB): ")
    assert acts[1] == "Would remove 1 leftover(s) (0.5 MB): a.sql.gz.old"
    assert acts[2] == "Still over 90%: " + B + ". Long term: resize the server or add a volume"


def test_an_unconfirmed_clean_up_names_its_confirmation_and_what_remains():
    acts = disk_space_actions(data(plan=FULL, max_percent="85"))
    assert acts == ["Not removing backups beyond retention or leftovers: confirm with -e disk_space_backups_confirm=true",
                    "Still over 85%: " + B + ". Long term: resize the server or add a volume"]


def test_leftovers_alone_also_wait_for_the_confirmation_and_confirmed_leftovers_are_said():
    only_old = plan(old_files=[B + "x.old"], old_bytes=0)
    assert disk_space_actions(data(plan=only_old))[0].startswith("Not removing backups beyond retention")
    assert disk_space_actions(data(plan=only_old, backups_confirm=True)) == ["Removed 1 leftover(s) (0.0 MB): x.old"]


def test_docker_pruned_sums_what_each_kind_reclaimed_and_a_missing_one_is_zero():
    pruned = {"changed": True, "containers_space_reclaimed": MB, "images_space_reclaimed": 2 * MB}
    acts = disk_space_actions(data(plan=plan(docker={"bytes": 5 * MB}), prune_confirm=True, docker_pruned=pruned))
    assert acts == ["Pruned Docker (stopped containers, dangling images, unused networks, build cache): "
                    "3.0 MB reclaimed"]


def test_docker_in_check_mode_would_prune_and_unconfirmed_waits_only_when_a_path_is_over():
    docker = {"bytes": 1.5 * MB}
    assert disk_space_actions(data(plan=plan(docker=docker), check_mode=True, prune_confirm=True)) == [
        "Would prune Docker (about 1.5 MB)"]
    # A healthy disk does not ask for a prune; an unhealthy one does.
    assert disk_space_actions(data(plan=plan(docker=docker))) == []
    assert disk_space_actions(data(plan=plan(docker=docker, passed=False))) == [
        "Not pruning Docker: confirm with -e disk_space_prune_confirm=true"]
    # Nothing reclaimable (or Docker not read: docker is null) asks for nothing.
    assert disk_space_actions(data(plan=plan(docker={"bytes": 0}, passed=False), check_mode=True,
                                   prune_confirm=True)) == []


def test_final_defaults_to_the_plan_and_absent_results_did_not_run():
    acts = disk_space_actions({"plan": plan(over=["/x"], passed=False)})
    assert acts == ["Still over 90%: /x. Long term: resize the server or add a volume"]
    assert disk_space_actions({"plan": plan(), "pruned_backups": {}, "docker_pruned": None}) == []


def test_a_pruned_result_without_lists_counts_zero():
    acts = disk_space_actions(data(pruned_backups={"changed": False}))
    assert acts == ["Removed 0 backup(s) beyond retention (0.0 MB): ; kept the newest 0 daily and 0 labelled backup(s)"]


@pytest.mark.parametrize("bad, words", [
    ("x", "expects a dict"),
    ({}, "plan must be the result of disk_space_plan"),
    ({"plan": plan(), "final": []}, "final must be the result"),
    ({"plan": plan(backups_remove="a")}, "plan.backups_remove must be a list of paths"),
    ({"plan": plan(over=[1])}, "final.over must be a list of paths"),
    ({"plan": plan(docker={"bytes": "lots"})}, "plan.docker.bytes must be a number, got 'lots'"),
    ({"plan": plan(), "docker_pruned": {"images_space_reclaimed": "x"}}, "docker_pruned.images_space_reclaimed"),
])
def test_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        disk_space_actions(bad)
