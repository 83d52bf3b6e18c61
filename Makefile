# Prefill: `make run` serves the demo; `make test` runs the whole suite.
# Python: the first of these that is 3.11 or later (pyproject.toml's requires-python),
# whatever the machine's is called. PY=/path/to/python chooses another.
PY ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test test-other-python which-python lint bench bench-smoke wrk worker chromium postgres redis clean widget-package

$(STAMP): requirements.txt requirements-dev.txt
	@test -e /usr/lib/x86_64-linux-gnu/libmagic.so.1 || ldconfig -p | grep -q libmagic.so.1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmagic1 >/dev/null)
	@test -x $(BIN)/python || test -n "$(PY)" || { echo "No Python 3.11 or later found (python3.13 ... python3): install one, or set PY=/path/to/python" >&2; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

PORT ?= 5000
run: $(STAMP)
	PREFILL_DEMO=1 PREFILL_DEV=1 PORT=$(PORT) IDENTITY_SECRET=$${IDENTITY_SECRET:-demo-identity-secret-change-me-0123456789} \
	WEBHOOK_URL=$${WEBHOOK_URL:-http://127.0.0.1:$(PORT)/demo/webhook} WEBHOOK_SECRET=$${WEBHOOK_SECRET:-whsec_ZGVtby13ZWJob29rLXNlY3JldC1ub3QtZm9yLXByb2Q=} \
	$(BIN)/python app.py

worker: $(STAMP)
	$(BIN)/flask --app app prefill worker

# Real headless Chromium for the browser tests, from Debian's packages.
chromium:
	@test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# axe-core for the accessibility checks in the browser tests (pinned in package-lock.json).
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE)

# The npm package @prefill/widget (npm/widget): packed by `npm pack` as it would be published,
# and that tarball installed into node_modules as an integrator installs it, for the apps under
# tests/apps (tests/test_npm_package_browser.py). Again only when one of its inputs changed.
WIDGET_PKG := node_modules/@prefill/widget/package.json
$(WIDGET_PKG): $(AXE) static/widget.js $(wildcard npm/widget/*.json npm/widget/*.mjs npm/widget/*.md npm/widget/src/*)
	rm -f npm/widget/prefill-widget-*.tgz
	cd npm/widget && npm pack --silent >/dev/null
	npm install --no-save --no-audit --no-fund --loglevel=error ./npm/widget/prefill-widget-*.tgz
	touch $@
widget-package: $(WIDGET_PKG)

# The PostgreSQL tests must run: start the local server when it is down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start" >&2; exit 1

lint: $(STAMP)
	$(BIN)/ruff check .

# Redis holds what instances share (rate limits); its tests must run too.
redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
	@for i in $$(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "Redis did not start" >&2; exit 1

test: $(STAMP) $(AXE) $(WIDGET_PKG) chromium postgres redis wrk
	$(BIN)/ruff check .
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) PREFILL_REQUIRE_POSTGRES=1 PREFILL_REQUIRE_BROWSER=1 PREFILL_CHROMIUM=$(CHROMIUM) \
		$(BIN)/python -m pytest -q
	@$(MAKE) --no-print-directory test-other-python

which-python:
	@echo "$(PY)"

# CI covers both ends of the Pythons Prefill supports (3.11 to 3.13, pyproject.toml):
# after the suite on .venv's Python, this runs it, less the browser tests (they test
# JavaScript, and the server on .venv's Python already), on the newest supported
# Python found on PATH or in pyenv, or the oldest when .venv has the newest, in a
# virtualenv of its own (.venv3.13). Skipped, saying so, when there is no other.
PYENV_ROOT ?= $(HOME)/.pyenv
SUPPORTED := (3, 11) <= sys.version_info[:2] <= (3, 13)
OTHER_TESTS ?= --ignore-glob='tests/*_browser.py'
test-other-python: $(STAMP) $(AXE) postgres redis wrk
	@mine=$$($(BIN)/python -c 'import sys; print("3.%d" % sys.version_info[1])'); \
	found=$$(for p in python3.13 python3.12 python3.11 python3 $(PYENV_ROOT)/versions/3.*/bin/python3; do \
		$$p -c 'import sys; $(SUPPORTED) and print("%d.%02d" % sys.version_info[1:3], sys.executable)' 2>/dev/null; \
	done | sort -r); \
	pick=; for line in "$$(echo "$$found" | head -n 1)" "$$(echo "$$found" | tail -n 1)"; do \
		if [ -n "$$line" ] && [ "3.$${line%%.*}" != "$$mine" ]; then pick=$${line#* }; break; fi; \
	done; \
	if [ -z "$$pick" ]; then echo "test-other-python: no supported Python here but .venv's ($$mine): skipped"; exit 0; fi; \
	venv=.venv$$($$pick -c 'import sys; print("3.%d" % sys.version_info[1])'); \
	test -x $$venv/bin/python || $$pick -m venv $$venv || exit 1; \
	if ! [ $$venv/.installed -nt requirements.txt ] || ! [ $$venv/.installed -nt requirements-dev.txt ]; then \
		$$venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt && touch $$venv/.installed || exit 1; \
	fi; \
	echo "test-other-python: the suite on $$($$venv/bin/python -V) ($$venv), less the browser tests"; \
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) PREFILL_REQUIRE_POSTGRES=1 \
		$$venv/bin/python -m pytest -q $(OTHER_TESTS)

# wrk, the load generator of the gunicorn benchmark, from Debian's packages.
wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)

# In-process ratios, then the production-shaped run: gunicorn + wrk, both apps (docs/performance.md).
bench: $(STAMP) wrk postgres
	$(BIN)/python bench/run.py
	$(BIN)/python bench/gunicorn_bench.py --pg $(TEST_DATABASE_URL)
	$(BIN)/python bench/uploads.py

# A few seconds of the gunicorn benchmark: proves it works (no speed is asserted).
bench-smoke: $(STAMP) wrk
	$(BIN)/python bench/gunicorn_bench.py --smoke --out bench/results/smoke-gunicorn.json

clean:
	rm -rf $(VENV) .venv3.* instance .pytest_cache node_modules
