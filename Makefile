# The two commands: `make demo` and `make test`. Everything they need is
# installed by the targets below, on a fresh Debian 12 machine (as root).
SHELL := /bin/bash
VENV := .venv
SCANNERS := .venv-scanners
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_FORCE_COLOR ?= false
SUITES := bookworm trixie

.PHONY: demo test test-vm bench bench-failover collection lint pytest molecule controller images vm-images demo-clean

demo: controller $(VENV)/.installed images
	scripts/demo.sh

test: lint pytest molecule

lint: $(VENV)/.installed
	yamllint --strict .
	ansible-lint --profile production
	ruff check .
	ruff format --check .

pytest: $(VENV)/.installed
	pytest tests/unit omeroweb/tests

# Every container scenario, in two lanes at once (scripts/molecule-lanes.sh, LANES=);
# the VM ones are test-vm's and users' (vagrant).
molecule: controller $(VENV)/.installed $(SCANNERS)/.installed images
	scripts/molecule-lanes.sh

# The appliance on QEMU VMs (software emulation where KVM does not work).
test-vm: controller $(VENV)/.installed vm-images
	molecule test -s vm

# The collection users install (galaxy.yml): build/collection/*.tar.gz.
collection: $(VENV)/.installed
	PYTHON=$(CURDIR)/$(VENV)/bin/python scripts/build-collection.sh build/collection

# The appliance measured on a container of its own: bench/results/REPORT.md.
# LANES_LOG=FILE adds where make test's time went, from a log of
# scripts/molecule-lanes.sh.
bench: controller $(VENV)/.installed $(VENV)/.bench-installed images
	$(VENV)/bin/python bench/appliance.py $(if $(LANES_LOG),--lanes-log $(LANES_LOG))

# The cluster scenario's failovers measured (bench/failover.py), added to
# bench/results/REPORT.md.
bench-failover: controller $(VENV)/.installed $(VENV)/.bench-installed images
	$(VENV)/bin/python bench/failover.py

$(VENV)/.bench-installed: requirements-bench.txt $(VENV)/.installed
	$(VENV)/bin/pip install --quiet -r requirements-bench.txt
	touch $@

controller:
	scripts/setup-controller.sh

$(VENV)/.installed: requirements.txt requirements.yml omeroweb/pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-build-isolation -e omeroweb
	$(VENV)/bin/ansible-galaxy collection install -r requirements.yml -p ~/.ansible/collections
	touch $@

# sslyze and gixy, which the TLS tests run.
$(SCANNERS)/.installed: requirements-scanners.txt
	python3 -m venv $(SCANNERS)
	$(SCANNERS)/bin/pip install --quiet --upgrade pip
	$(SCANNERS)/bin/pip install --quiet -r requirements-scanners.txt
	touch $@

# Built once and kept in Podman's store; REBUILD=1 scripts/build-base-image.sh
# makes them anew.
images: controller
	@pids=(); for suite in $(SUITES); do scripts/build-base-image.sh $$suite & pids+=($$!); done; \
	  for pid in "$${pids[@]}"; do wait $$pid || exit 1; done

# Built once and kept in ~/.cache/omero-web-appliance/vm; REBUILD=1
# scripts/build-vm-image.sh makes them anew.
vm-images: controller
	@pids=(); for suite in $(SUITES); do scripts/build-vm-image.sh $$suite & pids+=($$!); done; \
	  for pid in "$${pids[@]}"; do wait $$pid || exit 1; done

demo-clean:
	podman rm -f omero-web-demo
