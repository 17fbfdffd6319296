#!/usr/bin/env bash
# What the lab costs in CPU while nothing uses it: the CPU time of every lab container (health checks
# run inside their containers, so they count there) plus the engine's own processes (dockerd,
# containerd, the shims and the runc processes they reap), over SECONDS (default 60), as a percentage
# of one core. Counting these processes, not the whole machine, keeps other work out of the figure;
# `vmstat 60 2` gives the machine-wide view when nothing else runs.
# Usage: bash lab/idle-cpu.sh [SECONDS]
set -euo pipefail
seconds=${1:-60}
DOCKER=/usr/bin/docker
hz=$(getconf CLK_TCK)

cgroup_ns() { # total CPU ns of the lab's containers (cgroup v1 cpuacct or v2 cpu.stat)
    local total=0 id usage
    for id in $(for p in tgops-lab tgquiz toogoodtogo; do
                    "$DOCKER" ps -q --no-trunc --filter "label=com.docker.compose.project=$p"; done); do
        if [ -r "/sys/fs/cgroup/cpuacct/docker/$id/cpuacct.usage" ]; then
            usage=$(cat "/sys/fs/cgroup/cpuacct/docker/$id/cpuacct.usage")
        elif [ -r "/sys/fs/cgroup/system.slice/docker-$id.scope/cpu.stat" ]; then
            usage=$(( $(awk '$1 == "usage_usec" {print $2}' "/sys/fs/cgroup/system.slice/docker-$id.scope/cpu.stat") * 1000 ))
        else
            usage=0
        fi
        total=$(( total + usage ))
    done
    echo "$total"
}

engine_ticks() { # utime+stime+cutime+cstime of dockerd, containerd and the shims
    local total=0 pid
    for pid in $(pgrep -x dockerd; pgrep -x containerd; pgrep -f containerd-shim-runc-v2); do
        # Fields after the command name (which may hold spaces): 14-17 are the four times.
        total=$(( total + $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12+$13+$14+$15}' || echo 0) ))
    done
    echo "$total"
}

c0=$(cgroup_ns); e0=$(engine_ticks); t0=$(date +%s%N)
sleep "$seconds"
c1=$(cgroup_ns); e1=$(engine_ticks); t1=$(date +%s%N)
awk -v c=$(( c1 - c0 )) -v e=$(( e1 - e0 )) -v hz="$hz" -v t=$(( t1 - t0 )) 'BEGIN {
    containers = 100 * c / t; engine = 100 * (e / hz * 1e9) / t
    printf "lab idle CPU over %.0f s: %.1f%% of one core (containers %.1f%%, engine %.1f%%)\n", t / 1e9, containers + engine, containers, engine
}'
