#!/usr/bin/env bash
# Bring the lab up (idempotent): local state, images, the lab's servers and emulators, then the two
# platforms deployed onto the servers by lab/provision.yml.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# ansible.cfg names no vault password file (an AWX checkout has none): the lab's is this one.
export ANSIBLE_VAULT_PASSWORD_FILE="$root/.lab/vault-pass"
DOCKER=/usr/bin/docker
start=$(date +%s)

.venv/bin/python lab/state.py
bash lab/images/build.sh

export LAB_AUTHORIZED_KEY LAB_ID LAB_LAYOUT
LAB_AUTHORIZED_KEY=$(cat .lab/ssh/id_ed25519.pub)
LAB_ID=$(cat .lab/lab-id)
# The lab's layout generation: bump it when a change cannot be converged by `compose up` and
# provisioning (2: one network per platform instead of the shared `tgops-lab`).
LAB_LAYOUT=2
# A lab left by another checkout (or by state since removed) has databases initialised with other
# passwords, and a lab of another layout has other networks: remove it rather than provision on top.
running=$("$DOCKER" inspect --format '{{ index .Config.Labels "tgops.lab-id" }}/{{ index .Config.Labels "tgops.lab-layout" }}' \
    tgops-lab-tgquiz 2>/dev/null || true)
if [ "$running" != "$LAB_ID/$LAB_LAYOUT" ]; then
    rm -f .lab/ready
    bash lab/down.sh
fi
"$DOCKER" compose -f lab/docker-compose.lab.yml up -d --remove-orphans >/dev/null
# Not `up --wait`: the lab's own health checks run once a minute (what an idle lab costs), so the
# first one would come a minute late. Ask the emulators and S3 on their published ports instead.
for url in http://127.0.0.1:1808{1,2,3,4}/_control/health http://127.0.0.1:19000/moto-api/; do
    for _ in $(seq 1 120); do
        curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && break
        sleep 0.5
    done
    curl -fsS -o /dev/null --max-time 5 "$url" || { echo "[lab] $url does not answer"; exit 1; }
done
echo "[lab] servers, emulators and S3 up"

# sshd is up when the container is healthy, but give the first connection a few tries (one ping once it
# answers: each costs an Ansible start-up).
reachable=
for _ in $(seq 1 30); do
    if .venv/bin/ansible all -m ansible.builtin.ping >/dev/null 2>&1; then
        reachable=yes
        break
    fi
    sleep 1
done
if [ -z "$reachable" ]; then
    .venv/bin/ansible all -m ansible.builtin.ping >/dev/null || { echo "[lab] servers unreachable over SSH"; exit 1; }
fi

.venv/bin/ansible-playbook lab/provision.yml
touch .lab/ready
echo "[lab] ready in $(( $(date +%s) - start )) s"
