# Prefill: `make run` serves the demo; `make test` runs the whole suite.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test lint bench bench-smoke wrk worker chromium postgres redis clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -e /usr/lib/x86_64-linux-gnu/libmagic.so.1 || ldconfig -p | grep -q libmagic.so.1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmagic1 >/dev/null)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

PORT ?= 5000
run: $(STAMP)
	PREFILL_DEMO=1 PREFILL_DEV=1 PORT=$(PORT) IDENTITY_SECRET=$${IDENTITY_SECRET:-demo-identity-secret-change-me-0123456789} \
	WEBHOOK_URL=$${WEBHOOK_URL:-http://127.0.0.1:$(PORT)/demo/webhook} WEBHOOK_SECRET=$${WEBHOOK_SECRET:-demo-webhook-secret} \
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

test: $(STAMP) $(AXE) chromium postgres redis wrk
	$(BIN)/ruff check .
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) PREFILL_REQUIRE_POSTGRES=1 PREFILL_REQUIRE_BROWSER=1 PREFILL_CHROMIUM=$(CHROMIUM) \
		$(BIN)/python -m pytest -q

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
	rm -rf $(VENV) instance .pytest_cache node_modules
