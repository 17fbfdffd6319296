#!/usr/bin/env bash
# The demo: with the lab up, break something real (stop the tgquiz backend-api), then run the P0
# outage playbook against the lab and show what it found and did.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export ANSIBLE_CONFIG="$root/ansible.cfg"
export ANSIBLE_VAULT_PASSWORD_FILE="$root/.lab/vault-pass"
ansible=.venv/bin/ansible
playbook=.venv/bin/ansible-playbook

echo "== Breaking the lab: stopping tgquiz backend-api (docker compose stop, over SSH)"
$ansible tgquiz -m ansible.builtin.command -a "docker compose -f docker-compose.prod.yml stop backend-api chdir=/opt/tgquiz" >/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:18000/health || true)
echo "   tgquiz /health now answers: ${code:-nothing} (000 = no answer)"

echo "== ansible-playbook playbooks/p0_outage.yml"
export TGOPS_REPORT_DIR="$root/reports"
$playbook playbooks/p0_outage.yml

echo "== After the playbook"
for url in http://127.0.0.1:18000/health http://127.0.0.1:8000/health; do
    printf '   %s -> ' "$url"
    curl -fsS --max-time 5 "$url"; echo
done
report=$(find reports -name '*-p0-tgquiz-lab-*.md' -printf '%T@ %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
echo "== Incident report: $report"
cat "$report"
