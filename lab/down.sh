#!/usr/bin/env bash
# Remove the lab: the platform stacks the servers started, then the servers and emulators.
# Keeps images and .lab/ (secrets, CA); `make lab-clean` removes those too.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DOCKER=/usr/bin/docker
"$DOCKER" info >/dev/null 2>&1 || exit 0
for project in tgquiz toogoodtogo; do
    filter="label=com.docker.compose.project=$project"
    "$DOCKER" ps -aq --filter "$filter" | xargs -r "$DOCKER" rm -f >/dev/null
    "$DOCKER" volume ls -q --filter "$filter" | xargs -r "$DOCKER" volume rm -f >/dev/null
    "$DOCKER" network ls -q --filter "$filter" | xargs -r "$DOCKER" network rm >/dev/null
done
LAB_AUTHORIZED_KEY=unused LAB_ID=unused LAB_LAYOUT=unused \
    "$DOCKER" compose -f "$root/lab/docker-compose.lab.yml" down -v --remove-orphans >/dev/null 2>&1
# The network every lab before layout 2 shared between both platforms.
"$DOCKER" network rm tgops-lab >/dev/null 2>&1
rm -f "$root/.lab/ready"
echo "[lab] down"
