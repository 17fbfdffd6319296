"""The disk_space filters: disk_space_plan (which paths are over the threshold, what retention, leftovers and docker
prune would free), disk_space_actions (the clean-up's sentences, each branch of what ran, would run, waits for a
confirmation or remains) and disk_space_outcome (what the incident report says, before and after the clean-up)."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.disk_space import (
    disk_space_actions, disk_space_outcome, disk_space_plan)

BACKUPS = "/opt/backups/postgres"


def row(path, used, mount=None, inodes=1.0, avail=100, error=""):
    if error:
        return {"path": path, "mount": None, "total_mb": None, "avail_mb": None, "used_percent": None,
                "inodes_used_percent": None, "error": error}
    return {"path": path, "mount": mount or path, "total_mb": 1000, "avail_mb": avail, "used_percent": used,
            "inodes_used_percent": inodes, "error": ""}


def plan_data(**kw):
    base = {"disk": [row("/opt/toogoodtogo/deployment", 40.0, mount="/"), row(BACKUPS, 50.0)],
            "labels": {"/opt/toogoodtogo/deployment": "project", BACKUPS: "backups"},
            "max_percent": 90, "backup_dir": BACKUPS, "files": [], "old_patterns": ["*.sql.gz.old"],
            "retention": {"removed": [], "kept": [], "labelled": []}, "retention_rule": "keep the last 7",
            "docker": {}, "docker_root": "/var/lib/docker"}
    base.update(kw)
    return base


def test_a_healthy_host_has_no_finding_and_nothing_to_remove():
    plan = disk_space_plan(plan_data())
    assert plan["findings"] == [] and plan["over"] == [] and plan["passed"] is True
    assert plan["backups_remove"] == [] and plan["old_files"] == [] and plan["docker"] is None
    assert plan["summary"] == "project 40.0%, backups 50.0%"


def test_a_path_at_the_threshold_is_over_it_and_named_with_its_label():
    plan = disk_space_plan(plan_data(disk=[row(BACKUPS, 96.5, avail=1)]))
    assert plan["over"] == [BACKUPS] and plan["passed"] is False
    assert plan["findings"] == ["backups (%s) on %s: 96.5%% full, 1 MB left (threshold 90%%)" % (BACKUPS, BACKUPS)]
    assert disk_space_plan(plan_data(disk=[row(BACKUPS, 90.0)]))["over"] == [BACKUPS]
    assert disk_space_plan(plan_data(disk=[row(BACKUPS, 89.9)]))["over"] == []


def test_inodes_exhausted_count_as_full():
    plan = disk_space_plan(plan_data(disk=[row(BACKUPS, 10.0, inodes=99.0)]))
    assert plan["over"] == [BACKUPS] and "99.0% of inodes used" in plan["findings"][0]


def test_paths_on_one_file_system_make_one_finding():
    plan = disk_space_plan(plan_data(disk=[row("/opt/toogoodtogo/deployment", 95.0, mount="/"),
                                           row(BACKUPS, 95.0, mount="/")]))
    assert len(plan["findings"]) == 1 and plan["findings"][0].startswith(
        "project (/opt/toogoodtogo/deployment) and backups (%s) on /: 95.0%% full" % BACKUPS)
    assert plan["over"] == ["/opt/toogoodtogo/deployment", BACKUPS]


def test_a_remote_docker_root_is_a_note_but_an_unreadable_platform_path_is_a_finding():
    plan = disk_space_plan(plan_data(disk=[row("/var/lib/docker", 0, error="No such file or directory"),
                                           row(BACKUPS, 0, error="Permission denied")]))
    assert plan["notes"] == ["Docker root /var/lib/docker is not on this host (the engine runs elsewhere): its "
                             "disk is not read here"]
    assert plan["findings"] == ["cannot read the usage of backups (%s): Permission denied" % BACKUPS]
    assert plan["over"] == []


def test_backups_beyond_retention_come_from_backup_retention_with_their_sizes():
    old = ["%s/toogoodtogo_2025010%d_030000.sql.gz" % (BACKUPS, d) for d in (1, 2)]
    files = [{"path": p, "size": 3 * 1048576} for p in old] + [
        {"path": BACKUPS + "/toogoodtogo_20250120_030000.sql.gz", "size": 1}]
    plan = disk_space_plan(plan_data(files=files, retention={"removed": old, "kept": [files[2]["path"]], "labelled": []}))
    assert plan["backups_remove"] == old and plan["backups_bytes"] == 6 * 1048576
    assert plan["findings"] == ["2 backup(s) beyond retention (keep the last 7) in %s: 6.0 MB" % BACKUPS]
    assert plan["backups_kept"] == [files[2]["path"]]


def test_leftovers_match_the_patterns_by_file_name_only():
    files = [{"path": BACKUPS + "/a.sql.gz.old", "size": 1048576}, {"path": BACKUPS + "/b.sql.gz", "size": 5},
             {"path": BACKUPS + "/c.dump.old", "size": 5}]
    plan = disk_space_plan(plan_data(files=files))
    assert plan["old_files"] == [BACKUPS + "/a.sql.gz.old"] and plan["old_bytes"] == 1048576
    assert plan["findings"] == ["1 leftover(s) *.sql.gz.old in %s: 1.0 MB" % BACKUPS]


DF = {
    "Containers": [{"State": "running", "SizeRw": 10}, {"State": "exited", "SizeRw": 700 * 1048576},
                   {"State": "created", "SizeRw": 100 * 1048576}],
    "Images": [{"RepoTags": ["app:1"], "Containers": 0, "Size": 999, "SharedSize": 0},
               {"RepoTags": None, "Containers": 0, "Size": 300 * 1048576, "SharedSize": 100 * 1048576},
               {"RepoTags": ["<none>:<none>"], "Containers": 1, "Size": 50, "SharedSize": 0},
               {"RepoTags": [], "Containers": 0, "Size": 400 * 1048576, "SharedSize": 0}],
    "BuildCache": [{"InUse": False, "Shared": False, "Size": 24 * 1048576}, {"InUse": True, "Size": 7},
                   {"InUse": False, "Shared": True, "Size": 9}],
    "Volumes": [{"Name": "pgdata", "UsageData": {"Size": 10 ** 12, "RefCount": 0}}],
}


def test_docker_reclaimable_is_what_system_prune_frees_never_volumes_nor_tagged_or_used_images():
    plan = disk_space_plan(plan_data(docker=DF))
    assert plan["docker"] == {"containers": 2, "containers_bytes": 800 * 1048576, "images": 2,
                              "images_bytes": 600 * 1048576, "build_cache": 1, "build_cache_bytes": 24 * 1048576,
                              "build_cache_read": True, "upper_bound": False, "bytes": 1424 * 1048576}
    assert plan["findings"] == ["Docker: about 1424.0 MB reclaimable (2 stopped container(s), 2 dangling image(s), "
                                "1 build cache record(s)); volumes are never pruned"]
    # Below the threshold it is reported in plan.docker, not as a finding.
    assert disk_space_plan(plan_data(docker=DF, docker_warn_mb=2048))["findings"] == []


@pytest.mark.parametrize("bad, message", [
    ("x", "expects a dict"),
    ({"disk": "df -h output"}, "disk must be the list"),
    ({"disk": [], "max_percent": "lots"}, "max_percent must be a number"),
    ({"disk": [], "max_percent": float("nan")}, "max_percent must be a finite number"),
    ({"disk": [], "max_percent": 120}, "at most 100"),
    ({"disk": [{"used_percent": 3}]}, "each disk row needs a path"),
    ({"disk": [], "files": "a b"}, "files and old_patterns must be lists"),
    ({"disk": [], "docker": ["x"]}, "docker must be"),
    ({"disk": [], "labels": ["x"]}, "labels must map"),
])
def test_bad_input_is_refused_with_a_clear_message(bad, message):
    with pytest.raises(AnsibleFilterError, match=message):
        disk_space_plan(bad)


def test_docker_lists_without_sizes_count_images_a_container_still_uses_as_kept():
    lists = {"Containers": [{"State": "exited", "ImageID": "sha256:old"}, {"State": "running", "ImageID": "sha256:a"}],
             "Images": [{"Id": "sha256:old", "RepoTags": None, "Containers": -1, "Size": 5 * 1048576, "SharedSize": -1},
                        {"Id": "sha256:gone", "RepoTags": None, "Containers": -1, "Size": 7 * 1048576, "SharedSize": -1},
                        {"Id": "sha256:a", "RepoTags": ["app:2"], "Containers": -1, "Size": 1}]}
    plan = disk_space_plan(plan_data(docker=lists, docker_warn_mb=1))
    assert plan["docker"]["containers"] == 1 and plan["docker"]["images"] == 1
    assert plan["docker"]["bytes"] == 7 * 1048576 and plan["docker"]["build_cache_read"] is False
    assert plan["docker"]["upper_bound"] is True
    assert plan["findings"] == ["Docker: at most 7.0 MB reclaimable (1 stopped container(s), 1 dangling image(s)); "
                                "volumes are never pruned"]


# disk_space_actions

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


# disk_space_outcome: the incident skeleton's view, before and after the clean-up

SUMMARY_FULL = "project 40.0%, backups 96.0%"


def outcome(**kw):
    base = {"plan": dict(FULL, findings=["backups (%s) on %s: 96.0%% full" % (B, B)], summary=SUMMARY_FULL),
            "docker": {"skipped": True}}
    base.update(kw)
    return disk_space_outcome(base)


def test_the_diagnosis_reports_the_plan_and_resolves_nothing_yet():
    diagnosed = outcome()
    assert diagnosed == {"findings": ["backups (%s) on %s: 96.0%% full" % (B, B)], "health_before": SUMMARY_FULL,
                         "no_findings": "the disk has room and nothing is beyond retention", "impacted": [],
                         "resolved": False}


def test_an_engine_that_was_asked_and_did_not_answer_is_a_finding_and_one_not_asked_is_not():
    assert outcome(docker={"failed": False, "msg": "Cannot connect"})["findings"][-1] == (
        "Docker engine did not answer: Cannot connect")
    assert outcome(docker={"changed": False})["findings"][-1] == "Docker engine did not answer: ?"
    assert len(outcome(docker={"host_info": {}, "images": []})["findings"]) == 1
    assert len(outcome(docker=None)["findings"]) == 1


def test_a_clean_up_that_freed_enough_resolves_and_names_nothing_impacted():
    fixed = outcome(final=plan(summary="project 40.0%, backups 50.0%"), actions=["Removed 2 backup(s)"],
                    max_percent="90", backups_confirm=True, prune_confirm=False)
    assert fixed["resolved"] is True and fixed["impacted"] == [] and "failure" not in fixed
    assert fixed["actions"] == ["Removed 2 backup(s)"] and fixed["wait"] is False
    assert fixed["summary"] == "Disk: project 40.0%, backups 50.0%"
    # nothing ran: no data changed
    assert fixed["data_changed"] == []


def test_what_the_clean_up_deleted_is_data_the_run_changed_except_in_check_mode():
    removed_old = {"changed": True, "results": [{"item": B + "a.sql.gz.old", "changed": True},
                                                {"item": B + "gone.old", "changed": False}]}
    docker = {"changed": True, "containers_space_reclaimed": MB}
    done = dict(final=plan(), actions=[], backups_confirm=True, prune_confirm=True, pruned_backups=PRUNED,
                removed_old=removed_old, docker_pruned=docker)
    assert outcome(**done)["data_changed"] == [
        "Deleted 2 daily backup(s) beyond retention: toogoodtogo_20250101.sql.gz, toogoodtogo_20250102.sql.gz; "
        "only off-site copies, where the platform keeps them, remain",
        "Deleted 1 leftover(s): a.sql.gz.old; nothing keeps a copy",
        "Pruned Docker: stopped containers (with their writable layers), dangling images, unused networks and build "
        "cache are gone; volumes were kept"]
    assert outcome(check_mode=True, **done)["data_changed"] == []
    # skipped steps (unconfirmed) and a prune that removed nothing changed no data
    assert outcome(final=plan(), pruned_backups={"skipped": True}, removed_old={"skipped": True, "results": []},
                   docker_pruned={"changed": False})["data_changed"] == []


def test_a_path_still_over_fails_with_the_confirmations_that_would_free_space():
    left = outcome(final=dict(FULL, summary=SUMMARY_FULL), actions=["Not removing ..."], max_percent="90",
                   backups_confirm=False, prune_confirm=True)
    assert left["resolved"] is False and left["impacted"] == [B] and left["wait"] is True
    assert left["failure"] == (
        "Still over 90%: " + B + ". Free space with -e disk_space_backups_confirm=true (backups beyond retention, "
        "leftovers) and/or -e disk_space_prune_confirm=true (docker system prune).")


def test_a_confirmed_clean_up_that_did_not_free_enough_advises_a_bigger_disk():
    left = outcome(final=FULL, actions=[], max_percent=85.0, backups_confirm=True, prune_confirm=True)
    assert left["failure"] == ("Still over 85.0%: " + B + ". The clean-up did not free enough: resize the server or "
                               "add a volume.")


def test_in_check_mode_nothing_is_read_again_so_the_plan_stands_and_the_skeleton_drops_the_failure():
    # The role passes the diagnosis's plan as final in check mode; incident_outcome blanks failure in check mode.
    would = outcome(final=FULL, actions=["Would remove 2 backup(s)"], max_percent=90)
    assert would["resolved"] is False and would["actions"] == ["Would remove 2 backup(s)"]
    assert would["failure"].startswith("Still over 90%: ")


@pytest.mark.parametrize("bad, words", [
    ("x", "expects a dict"),
    ({}, "plan must be the result of disk_space_plan"),
    ({"plan": plan(), "final": []}, "final must be the result"),
    ({"plan": plan(), "final": plan(over="/x")}, "final.over must be a list of paths"),
])
def test_a_bad_outcome_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match="disk_space_outcome.*" + words):
        disk_space_outcome(bad)
