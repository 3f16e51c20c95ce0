# The two commands that matter: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
export FLASK_APP := wsgi
# Test workers: 2, one per core; override with `make test WORKERS=1`. (Measured on a clean clone,
# 1,728 tests: 2 workers 21 min, 3 workers 25 min; 1,765 tests: `--dist load` 18-21 min,
# `--dist worksteal` 21.5 min, as it ran the two-node tests beside the browser tests.) Each worker that runs browser tests starts
# one live server and one Chromium and shares them between its browser tests.
WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: run test fuzz lint setup translations db browser bench screens i18n-extract clean help

help:
	@echo "make run   - set up and serve the portal with demo data on http://$(HOST):$(PORT)"
	@echo "make test  - set up, lint and run the whole test suite (SQLite, PostgreSQL, browser)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,production]'
	touch $@

setup: $(VENV)/.installed translations

# Compiled catalogues are build output, made from the .po sources on every setup.
translations: $(VENV)/.installed
	@$(BIN)/pybabel compile --use-fuzzy -d app/translations -f --statistics 2>&1 | grep -v '^compiling' || true

db: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty

# E-mail in development: unless MAIL_SERVER is set, a local SMTP server (aiosmtpd, from the
# [test] extra) on DEV_MAIL_PORT writes every mail the portal sends to instance/mail.log.
DEV_MAIL_PORT ?= 8025

# The periodic sweep (slots for the coming days, waitlist offers, no-shows, reminders) runs
# every minute beside the development server, as cron would run `flask sweep` in production,
# and the dispatcher (`flask deliver`: the outbox's SMS, e-mail and push) runs beside both, as
# a service would in production (README: the systemd unit). Both stop with the server.
# Links in SMS, e-mail and push messages start with PORTAL_URL: here this server's own address
# (`make run PORT=5090` included) unless PORTAL_URL is set already.
run: db
	@echo "citizen-portal on http://$(HOST):$(PORT)  (demo accounts: see README.md)"
	@export PORTAL_URL="$${PORTAL_URL:-http://$(HOST):$(PORT)}"; \
	echo "links in messages start with $$PORTAL_URL"; \
	mailer=""; if [ -z "$$MAIL_SERVER" ]; then \
	  $(BIN)/python -u -m aiosmtpd -n -l 127.0.0.1:$(DEV_MAIL_PORT) -c aiosmtpd.handlers.Debugging \
	    > instance/mail.log 2>&1 & mailer=$$!; \
	  export MAIL_SERVER=127.0.0.1 MAIL_PORT=$(DEV_MAIL_PORT) MAIL_USE_TLS=0 \
	    MAIL_FROM="citizen-portal <noreply@localhost>"; \
	  echo "e-mail: every message the portal sends is written to instance/mail.log"; \
	fi; \
	( while true; do $(BIN)/flask sweep > instance/sweep.log 2>&1; sleep 60; done ) & \
	  sweeper=$$!; $(BIN)/flask deliver > instance/deliver.log 2>&1 & \
	  dispatcher=$$!; trap "kill $$sweeper $$dispatcher $$mailer 2>/dev/null" EXIT INT TERM; \
	  $(BIN)/flask run --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download),
# redis-server for the scale-out tests (rate-limit counters shared by several app nodes) and
# espeak-ng, the server's voice for read-aloud (朗读; without it the portal runs and its
# read-aloud page shows the words with "not available", tests/test_readaloud.py fails under CI).
browser:
	@missing=""; [ -x /usr/bin/chromium ] || missing="chromium"; \
	[ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	[ -x /usr/bin/espeak-ng ] || missing="$$missing espeak-ng"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null; \
	  else echo "Missing: sudo apt-get install $$missing"; exit 1; fi; \
	fi

# ruff (pyproject.toml: line length 100, as setup.cfg declares): lint and formatting, before the tests.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup browser lint
	$(BIN)/pytest -n $(WORKERS) --dist load --durations=20 $(PYTEST_ARGS)

# A deeper fuzzing run than make test's (40 examples per API operation, 12 per form page), for
# a nightly job or before a release (seven and five times as many examples: expect several times
# make test's fuzzing time, which was 420 s of one worker at 150 and 30).
fuzz: setup
	FUZZ_API_EXAMPLES=300 FUZZ_FORM_EXAMPLES=60 $(BIN)/pytest -n $(WORKERS) tests/test_fuzz.py

# Benchmarks against a baseline in the same run, on a throwaway PostgreSQL (see bench/).
$(VENV)/.bench-installed: setup.cfg | $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test,production,bench]'
	touch $@

# One session (about 11 minutes on 2 cores): page weight, venue booking and pages, parking,
# repairs at 1,000,000 tickets, baseline runs between them; then the table with issue 11's
# targets in bench/RESULTS.md. A smoke run: make bench BENCH_SECONDS=5 BENCH_WARMUP=2
# BENCH_ROUNDS=1 BENCH_TICKETS=100000 (every BENCH_ setting: bench/harness.py).
bench: setup $(VENV)/.bench-installed
	$(BIN)/python -m bench; status=$$?; \
	  $(BIN)/python -m bench.report || status=1; exit $$status

# Screenshots of the main pages for reviewers (bench/screens.py): phone and desktop, standard and
# elderly mode, Chinese and English, into screens/ with an index.html (about 5 minutes). Chinese
# needs a CJK font: Debian's fonts-noto-cjk, installed here when missing and run as root.
screens: setup browser
	@if ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk) >/dev/null; \
	  else echo "Missing: sudo apt-get install fonts-noto-cjk (Chinese would show as boxes)"; exit 1; fi; \
	fi
	$(BIN)/python -m bench.screens

# Refresh the message catalogues after changing user-facing strings, then translate the new
# entries in app/translations/zh_Hans_CN/LC_MESSAGES/messages.po.
i18n-extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -k lazy_gettext -k lazy_pgettext:1c,2 -k pgettext:1c,2 -k counted:2,3 --no-wrap --sort-by-file \
	  -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -w 100 --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance/*.db .pytest_cache
