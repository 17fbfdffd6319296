# The two commands a newcomer runs (as root, on a fresh Debian 12 machine): `make demo`, `make test`.
# Every target does its own set-up, idempotently, and is quick when the set-up is already done.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv
BIN := $(VENV)/bin
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# The lab's Vault password (lab/state.py writes it; ansible.cfg names none, see there).
export ANSIBLE_VAULT_PASSWORD_FILE := $(CURDIR)/.lab/vault-pass
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup state venv docker lab lab-down lab-clean demo test lint sanity unit integration molecule build bench docs docs-lint ee

help:
	@echo "make demo      set up everything, break the lab, run playbooks/p0_outage.yml against it"
	@echo "make test      set up everything, then lint, sanity, unit and integration tests"
	@echo "make lab       bring the lab up (make lab-down removes it, make lab-clean also its state)"
	@echo "make bench     benchmarks (see docs/performance.md)"
	@echo "make docs      the collection's docs site (antsibull-docs) in .build/docs; make docs-lint checks it"
	@echo "make ee        build the execution environment image (docs/awx.md)"

# Byte-compiled, because the machines here set PYTHONDONTWRITEBYTECODE=1: without .pyc files every ansible process
# would compile what it imports again (lanes 40% slower). pip compiles one file at a time (half of its 85 s);
# compileall does it on every core (pip 39 s + compileall 18 s). Not the 15,000 files of the ansible package's
# collections: the controller imports a handful of them (their modules run on the hosts, packed by AnsiballZ).
venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements.txt requirements-lab-test.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --no-compile -r requirements.txt -r requirements-lab-test.txt
	$(BIN)/python -m compileall -q -j 0 -x '/site-packages/ansible_collections/' $(VENV)/lib
	mkdir -p .collections/ansible_collections/tgops
	ln -sfn ../../.. .collections/ansible_collections/tgops/runbooks
	touch $@

docker:
	bash scripts/setup-docker.sh

setup: venv docker

# The lab's generated state (SSH key, CA, vault password, inventory): the lab inventory's vault file
# is encrypted with it, so every ansible command, ansible-lint's syntax checks included, needs it.
state: venv
	$(BIN)/python lab/state.py

lab: setup
	bash lab/up.sh

lab-down:
	bash lab/down.sh

lab-clean: lab-down
	rm -rf .lab inventories/lab/hosts.yml inventories/lab/group_vars/all

demo: lab
	bash scripts/demo.sh

lint: state
	$(BIN)/ansible-lint --profile production
	$(BIN)/antsibull-changelog lint
	bash scripts/docs.sh lint

sanity: venv docker
	bash scripts/sanity.sh

unit: venv
	$(BIN)/pytest -q tests/unit

# One molecule scenario per role that changes a host; they run against the lab.
MOLECULE_ALL = for s in molecule/*/molecule.yml; do $(BIN)/molecule test -s "$$(basename "$$(dirname "$$s")")"; done

integration: venv state
	$(BIN)/python scripts/test_lanes.py --skip static

molecule: lab
	$(MOLECULE_ALL)

build: venv
	bash scripts/build-collection.sh

# Everything below, side by side where nothing is shared (scripts/test_lanes.py: the static checks while the lab
# comes up, then the integration tests and molecule scenarios in lanes); logs in .build/test-logs/.
# The lab's test profile (lab/state.py): Docker health probes every 2 s instead of 5-10 s.
test integration: export TGOPS_LAB_PROFILE = test
test: venv state
	$(BIN)/python scripts/test_lanes.py

# backup_verify against gzip -t and pg_restore on ~1 GB backups built on the lab's tgquiz PostgreSQL.
bench: lab
	PGPASSWORD="$$($(BIN)/python -c 'import json; print(json.load(open(".lab/secrets.json"))["tgquiz"]["postgres_password"])')" \
	TGOPS_BENCH_DSN=postgresql://postgres@127.0.0.1:15432/postgres $(BIN)/python bench/backup_verify_bench.py

# The collection's documentation site, generated with antsibull-docs into .build/docs (not committed).
docs: venv
	bash scripts/docs.sh

docs-lint: venv
	bash scripts/docs.sh lint

# The execution environment image (ansible-builder), built on the lab's engine from its Debian base.
ee: venv docker
	bash scripts/ee.sh build

