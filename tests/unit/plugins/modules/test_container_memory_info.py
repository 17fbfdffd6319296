"""container_memory_info with the docker client replaced."""
import json

from ansible_collections.tgops.runbooks.plugins.modules import container_memory_info

from tgops_module_runner import run_module

IDS = ["a" * 64, "b" * 64]
STATS = "\n".join(json.dumps(s) for s in [
    {"ID": "a" * 12, "Name": "tgquiz-backend-api-1", "MemUsage": "950MiB / 1GiB", "MemPerc": "92.77%"},
    {"ID": "b" * 12, "Name": "tgquiz-redis-1", "MemUsage": "12MiB / 23.5GiB", "MemPerc": "0.05%"},
]) + "\n"
INSPECT = json.dumps([
    {"Id": IDS[0], "HostConfig": {"Memory": 1024 ** 3}, "State": {"OOMKilled": False}, "RestartCount": 0,
     "Config": {"Labels": {"com.docker.compose.service": "backend-api"}}},
    {"Id": IDS[1], "HostConfig": {"Memory": 0}, "State": {"OOMKilled": False}, "RestartCount": 0,
     "Config": {"Labels": {"com.docker.compose.service": "redis"}}},
])


def docker(answers):
    calls = []

    def run_command(argv, environ_update=None, **kwargs):
        calls.append(argv)
        return answers[argv[1]]
    return run_command, calls


def test_reads_usage_against_limits_in_three_commands():
    run_command, calls = docker({"ps": (0, "\n".join(IDS) + "\n", ""), "stats": (0, STATS, ""), "inspect": (0, INSPECT, "")})
    result = run_module(container_memory_info, dict(project="tgquiz", host_warn_percent=100), run_command=run_command,
                        bin_paths={})
    assert not result.get("failed"), result
    assert calls[0][-1] == "label=com.docker.compose.project=tgquiz"
    assert calls[1][:4] == ["/usr/bin/docker", "stats", "--no-stream", "--format"] and calls[1][-2:] == IDS
    assert result["over_threshold"] == ["backend-api"]
    assert result["findings"] == ["container backend-api uses 92.8% of its memory limit (950 MiB of 1024 MiB)"]
    assert result["passed"] is False
    assert result["host"]["total_bytes"] > 0


def test_one_off_containers_are_not_the_projects_services():
    # `docker compose run` containers carry the project label too; docker compose ps leaves them out, and so does this.
    listed = "".join("%s\tFalse\n" % cid for cid in IDS) + "f" * 64 + "\tTrue\n"
    run_command, calls = docker({"ps": (0, listed, ""), "stats": (0, STATS, ""), "inspect": (0, INSPECT, "")})
    result = run_module(container_memory_info, dict(project="tgquiz", host_warn_percent=100), run_command=run_command,
                        bin_paths={})
    assert not result.get("failed"), result
    assert calls[1][-len(IDS):] == IDS and "f" * 64 not in calls[1] and "f" * 64 not in calls[2]


def test_no_running_container_is_a_finding():
    run_command, calls = docker({"ps": (0, "", "")})
    result = run_module(container_memory_info, dict(project="tgquiz", host_warn_percent=100), run_command=run_command,
                        bin_paths={})
    assert result["findings"] == ["no running container in compose project tgquiz"] and len(calls) == 1


def test_docker_failure_is_reported():
    run_command = docker({"ps": (1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n")})[0]
    result = run_module(container_memory_info, dict(project="tgquiz"), run_command=run_command, bin_paths={})
    assert result["failed"]
    assert result["msg"] == "docker ps failed (rc 1): Cannot connect to the Docker daemon at unix:///var/run/docker.sock."


def test_unparsable_stats_and_bad_threshold():
    run_command = docker({"ps": (0, IDS[0], ""), "stats": (0, "{not json\n", ""), "inspect": (0, INSPECT, "")})[0]
    result = run_module(container_memory_info, dict(project="tgquiz"), run_command=run_command, bin_paths={})
    assert result["failed"] and result["msg"].startswith("cannot parse the docker output")
    result = run_module(container_memory_info, dict(project="tgquiz", container_warn_percent=-1), run_command=run_command,
                        bin_paths={})
    assert result["msg"] == "container_warn_percent must be a finite number, 0 or more, got -1.0"
    result = run_module(container_memory_info, dict(project="tgquiz", host_warn_percent="nan"), run_command=run_command,
                        bin_paths={})
    assert result["failed"] and result["msg"] == "host_warn_percent must be a finite number, 0 or more, got nan"
