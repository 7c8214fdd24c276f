# The two commands: `make run` (everything, on a fresh machine with Python 3.11) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VPY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.deps-$(shell cksum pyproject.toml | cut -d' ' -f1)

export DATABASE_URL_TEST ?= postgres://postgres@127.0.0.1:5432/hub

.PHONY: run test bench chaos lint install services-check browser migrate demo clean

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip

$(DEPS_STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.deps-* && touch $@

install: $(DEPS_STAMP)

migrate: install
	$(VPY) manage.py migrate --noinput

demo: migrate
	$(VPY) manage.py seed_demo
	$(VPY) manage.py seed_billing_demo

run: demo
	$(VPY) scripts/devstack.py

# Debian's Chromium for the browser tests (Playwright cannot download its own browsers here).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

services-check: install
	@DATABASE_URL="$${DATABASE_URL:-$(DATABASE_URL_TEST)}" $(VPY) scripts/check_services.py

test: install browser services-check
	DATABASE_URL="$${DATABASE_URL:-$(DATABASE_URL_TEST)}" $(VPY) -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

bench: install services-check
	DATABASE_URL="$${DATABASE_URL:-$(DATABASE_URL_TEST)}" $(VPY) -m pytest bench -q -s $(PYTEST_ARGS)

# 20 integrations, 500 orders each, workers SIGKILLed every 20 s, Redis restarted once, sandbox faults:
# prints and checks exactly-once orders and confirmations. Its small version runs in `make test`.
chaos: install services-check
	CHAOS_SCALE=full DATABASE_URL="$${DATABASE_URL:-$(DATABASE_URL_TEST)}" $(VPY) -m pytest integrations/tests/test_chaos.py -q -s $(PYTEST_ARGS)

lint: install
	$(VPY) -m ruff check .

clean:
	rm -rf var/ $(VENV)
