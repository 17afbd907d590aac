# portguard.hardening: every target sets up what it needs on a fresh Debian machine.
#   make demo    bring up the lab fleet and run portguard against it
#   make test    lint, unit, kernel, render, sanity, build, the version matrix, Molecule scenarios
SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv

export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.cache/collections
export CONTAINERS_CONF := $(ROOT)/lab/containers.conf
export ANSIBLE_CONFIG := $(ROOT)/lab/ansible.cfg

# Scenarios run by `make molecule`, in order; override with SCENARIOS="smoke ...".
SCENARIOS ?= $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))

.PHONY: setup packages images demo lab-down test lint unit kernel render sanity build matrix molecule bench bench-baseline bench-ruleset bench-fleet bench-probe clean

# The virtualenv only: enough for lint, unit, sanity and build, without root.
setup:
	@scripts/bootstrap.sh

# Debian packages for the lab, the render tests and the benchmarks (apt-get: root).
packages:
	@scripts/bootstrap.sh --packages

images: packages
	@lab/build-images.sh

demo: images
	@ansible-playbook lab/demo.yml -e demo_dir=$(ROOT)/.cache/demo

lab-down: packages
	@ansible-playbook lab/fleet.yml -e lab_state=absent

test: packages
	@scripts/test.sh $(SCENARIOS)

lint: setup
	@scripts/test.sh --only lint

unit: setup
	@scripts/test.sh --only unit

kernel: setup
	@scripts/test.sh --only kernel

render: packages
	@scripts/test.sh --only render

sanity: setup
	@scripts/test.sh --only sanity

build: setup
	@scripts/test.sh --only build

# Every ansible-core minor the collection claims (tests/matrix/versions); MATRIX_ARGS="--only 2.16".
matrix: images
	@scripts/test.sh --only matrix

molecule: images
	@scripts/test.sh --only molecule $(SCENARIOS)

# Scale benchmark (bench/listeners.py): BENCH_ARGS="--sizes 1000,4000 --repeat 3" to narrow it.
bench: packages
	@python bench/listeners.py $(BENCH_ARGS)

# Baseline benchmark (bench/baseline.py): validating, loading and matching 8,000 x 8,000.
bench-baseline: setup
	@python bench/baseline.py $(BENCH_ARGS)

# Ruleset benchmark (bench/ruleset.py): a 2,000-rule ruleset judged for 4,000 sockets.
bench-ruleset: setup
	@python bench/ruleset.py $(BENCH_ARGS)

# Fleet benchmark (bench/fleet.py): the audit of 1, 10 and 40 SSH hosts on three lab containers,
# against ping, ss and listening_facts; 10 to 20 minutes. BENCH_ARGS="--sizes 1 --repeat 1".
bench-fleet: images
	@python bench/fleet.py $(BENCH_ARGS)

# Probe benchmark (bench/probe.py): exposed_ports_probe against nmap -sT and -sU on one lab
# container: the full TCP range, the listeners only, UDP; about 5 minutes. BENCH_ARGS="--repeat 1".
bench-probe: images
	@python bench/probe.py $(BENCH_ARGS)

clean:
	rm -rf .cache tests/output portguard-hardening-*.tar.gz
