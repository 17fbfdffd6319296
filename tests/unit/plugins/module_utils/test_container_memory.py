"""Container and host memory parsing and verdicts (plugins/module_utils/_container_memory.py)."""
import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.tgops.runbooks.plugins.module_utils import _container_memory as m

MEMINFO = "MemTotal:       24649964 kB\nMemFree:         1000000 kB\nMemAvailable:   23841604 kB\nBuffers: 1 kB\n"


@pytest.mark.parametrize("text,expected", [
    ("35.97MiB", int(round(35.97 * 1024 ** 2))), ("4.195MiB ", int(round(4.195 * 1024 ** 2))), ("23.54GiB", int(round(23.54 * 1024 ** 3))),
    ("512KiB", 512 * 1024), ("1.5kB", 1500), ("12MB", 12000000), ("0B", 0), ("7", 7),
])
def test_parse_size(text, expected):
    assert m.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "MiB", "12 parsecs", "--", "1.2.3MiB"])
def test_parse_size_refuses_garbage(text):
    with pytest.raises(ValueError):
        m.parse_size(text)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10 ** 6), st.sampled_from(["B", "KiB", "MiB", "GiB", "kB", "MB", "GB"]))
def test_parse_size_round_trips_integers(number, unit):
    factor = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}[unit]
    assert m.parse_size("%d%s" % (number, unit)) == number * factor


def test_parse_meminfo():
    host = m.parse_meminfo(MEMINFO)
    assert host["total_bytes"] == 24649964 * 1024
    assert host["available_bytes"] == 23841604 * 1024
    assert host["used_percent"] == 3.3


def test_parse_meminfo_without_total_is_an_error():
    with pytest.raises(ValueError):
        m.parse_meminfo("MemFree: 1 kB\n")


def rows():
    stats = [
        {"ID": "aaaaaaaaaaaa", "Name": "tgquiz-backend-api-1", "MemUsage": "900MiB / 1GiB"},
        {"ID": "bbbbbbbbbbbb", "Name": "tgquiz-redis-1", "MemUsage": "10MiB / 23.5GiB"},
    ]
    inspected = [
        {"Id": "aaaaaaaaaaaa" + "0" * 52, "HostConfig": {"Memory": 1024 ** 3}, "State": {"OOMKilled": False},
         "RestartCount": 2, "Config": {"Labels": {"com.docker.compose.service": "backend-api"}}},
        {"Id": "bbbbbbbbbbbb" + "0" * 52, "HostConfig": {"Memory": 0}, "State": {"OOMKilled": True},
         "RestartCount": 0, "Config": {"Labels": {"com.docker.compose.service": "redis"}}},
    ]
    return m.container_rows(stats, inspected, 16 * 1024 ** 3)


def test_container_rows_use_the_own_limit_or_the_host_memory():
    backend, redis = rows()
    assert backend["service"] == "backend-api" and backend["has_limit"] and backend["used_percent"] == 87.9
    assert backend["restart_count"] == 2
    assert redis["limit_bytes"] == 16 * 1024 ** 3 and not redis["has_limit"] and redis["oom_killed"]


def test_memory_findings_and_over_threshold():
    containers = rows()
    host = dict(total_bytes=16 * 1024 ** 3, available_bytes=1024 ** 3, used_percent=93.8)
    findings = m.memory_findings(containers, host, 85, 85)
    assert findings == [
        "container backend-api uses 87.9% of its memory limit (900 MiB of 1024 MiB)",
        "container redis was killed for lack of memory (OOMKilled)",
        "host memory 93.8% used (1024 MiB available of 16384 MiB; warning at 85%)",
    ]
    assert m.over_threshold(containers, 85) == ["backend-api"]
    assert m.memory_findings(containers, dict(host, used_percent=10.0), 95, 85) == [
        "container redis was killed for lack of memory (OOMKilled)"]
