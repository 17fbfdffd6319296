"""disk_space_plan: which paths are over the threshold, what retention, leftovers and docker prune would free."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.disk import disk_space_plan

BACKUPS = "/opt/backups/postgres"


def row(path, used, mount=None, inodes=1.0, avail=100, error=""):
    if error:
        return {"path": path, "mount": None, "total_mb": None, "avail_mb": None, "used_percent": None,
                "inodes_used_percent": None, "error": error}
    return {"path": path, "mount": mount or path, "total_mb": 1000, "avail_mb": avail, "used_percent": used,
            "inodes_used_percent": inodes, "error": ""}


def data(**kw):
    base = {"disk": [row("/opt/toogoodtogo/deployment", 40.0, mount="/"), row(BACKUPS, 50.0)],
            "labels": {"/opt/toogoodtogo/deployment": "project", BACKUPS: "backups"},
            "max_percent": 90, "backup_dir": BACKUPS, "files": [], "old_patterns": ["*.sql.gz.old"],
            "retention": {"removed": [], "kept": [], "labelled": []}, "retention_rule": "keep the last 7",
            "docker": {}, "docker_root": "/var/lib/docker"}
    base.update(kw)
    return base


def test_a_healthy_host_has_no_finding_and_nothing_to_remove():
    plan = disk_space_plan(data())
    assert plan["findings"] == [] and plan["over"] == [] and plan["passed"] is True
    assert plan["backups_remove"] == [] and plan["old_files"] == [] and plan["docker"] is None
    assert plan["summary"] == "project 40.0%, backups 50.0%"


def test_a_path_at_the_threshold_is_over_it_and_named_with_its_label():
    plan = disk_space_plan(data(disk=[row(BACKUPS, 96.5, avail=1)]))
    assert plan["over"] == [BACKUPS] and plan["passed"] is False
    assert plan["findings"] == ["backups (%s) on %s: 96.5%% full, 1 MB left (threshold 90%%)" % (BACKUPS, BACKUPS)]
    assert disk_space_plan(data(disk=[row(BACKUPS, 90.0)]))["over"] == [BACKUPS]
    assert disk_space_plan(data(disk=[row(BACKUPS, 89.9)]))["over"] == []


def test_inodes_exhausted_count_as_full():
    plan = disk_space_plan(data(disk=[row(BACKUPS, 10.0, inodes=99.0)]))
    assert plan["over"] == [BACKUPS] and "99.0% of inodes used" in plan["findings"][0]


def test_paths_on_one_file_system_make_one_finding():
    plan = disk_space_plan(data(disk=[row("/opt/toogoodtogo/deployment", 95.0, mount="/"),
                                      row(BACKUPS, 95.0, mount="/")]))
    assert len(plan["findings"]) == 1 and plan["findings"][0].startswith(
        "project (/opt/toogoodtogo/deployment) and backups (%s) on /: 95.0%% full" % BACKUPS)
    assert plan["over"] == ["/opt/toogoodtogo/deployment", BACKUPS]


def test_a_remote_docker_root_is_a_note_but_an_unreadable_platform_path_is_a_finding():
    plan = disk_space_plan(data(disk=[row("/var/lib/docker", 0, error="No such file or directory"),
                                      row(BACKUPS, 0, error="Permission denied")]))
    assert plan["notes"] == ["Docker root /var/lib/docker is not on this host (the engine runs elsewhere): its "
                             "disk is not read here"]
    assert plan["findings"] == ["cannot read the usage of backups (%s): Permission denied" % BACKUPS]
    assert plan["over"] == []


def test_backups_beyond_retention_come_from_backup_retention_with_their_sizes():
    old = ["%s/toogoodtogo_2025010%d_030000.sql.gz" % (BACKUPS, d) for d in (1, 2)]
    files = [{"path": p, "size": 3 * 1048576} for p in old] + [
        {"path": BACKUPS + "/toogoodtogo_20250120_030000.sql.gz", "size": 1}]
    plan = disk_space_plan(data(files=files, retention={"removed": old, "kept": [files[2]["path"]], "labelled": []}))
    assert plan["backups_remove"] == old and plan["backups_bytes"] == 6 * 1048576
    assert plan["findings"] == ["2 backup(s) beyond retention (keep the last 7) in %s: 6.0 MB" % BACKUPS]
    assert plan["backups_kept"] == [files[2]["path"]]


def test_leftovers_match_the_patterns_by_file_name_only():
    files = [{"path": BACKUPS + "/a.sql.gz.old", "size": 1048576}, {"path": BACKUPS + "/b.sql.gz", "size": 5},
             {"path": BACKUPS + "/c.dump.old", "size": 5}]
    plan = disk_space_plan(data(files=files))
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
    plan = disk_space_plan(data(docker=DF))
    assert plan["docker"] == {"containers": 2, "containers_bytes": 800 * 1048576, "images": 2,
                              "images_bytes": 600 * 1048576, "build_cache": 1, "build_cache_bytes": 24 * 1048576,
                              "build_cache_read": True, "upper_bound": False, "bytes": 1424 * 1048576}
    assert plan["findings"] == ["Docker: about 1424.0 MB reclaimable (2 stopped container(s), 2 dangling image(s), "
                                "1 build cache record(s)); volumes are never pruned"]
    # Below the threshold it is reported in plan.docker, not as a finding.
    assert disk_space_plan(data(docker=DF, docker_warn_mb=2048))["findings"] == []


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
    plan = disk_space_plan(data(docker=lists, docker_warn_mb=1))
    assert plan["docker"]["containers"] == 1 and plan["docker"]["images"] == 1
    assert plan["docker"]["bytes"] == 7 * 1048576 and plan["docker"]["build_cache_read"] is False
    assert plan["docker"]["upper_bound"] is True
    assert plan["findings"] == ["Docker: at most 7.0 MB reclaimable (1 stopped container(s), 1 dangling image(s)); "
                                "volumes are never pruned"]
