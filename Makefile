# Saraban: the two commands are `make run` (demo on http://127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
ECMS_PORT ?= 8780
PG_URL ?= postgres://postgres@127.0.0.1:5432/saraban_make
DEMO_ENV := SARABAN_DEMO=1

.PHONY: audit-deps run test test-sqlite test-postgres lint browser-deps signature-deps ocr-deps bench-numbering bench-kpi demo clean \
	bench-exchange fault-exchange bench-ecms fault-ecms bench-mail fault-mail mail-deps bench-desk bench-documents bench-search \
	bench-bombs attack

$(BIN)/activate:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Saraban needs Python >= 3.12 (see .python-version)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

## run: install, migrate, load the demo organisation, serve the web app and the worker
## (and a local e-CMS node on ECMS_PORT for the demo's e-CMS letters).
run: $(VENV)/.installed
	$(DEMO_ENV) $(BIN)/saraban migrate --no-input
	$(DEMO_ENV) SARABAN_DEMO_ECMS_URL=http://127.0.0.1:$(ECMS_PORT) $(BIN)/saraban load_demo
	@mkdir -p var; $(DEMO_ENV) $(BIN)/saraban ecms node --host 127.0.0.1 --port $(ECMS_PORT) \
		--data var/ecms-node --department "1500100000=สำนักงานปลัดกระทรวงมหาดไทย" \
		--department "2100500000=กรมควบคุมโรค" > var/ecms-node.log 2>&1 & \
	trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	$(DEMO_ENV) $(BIN)/saraban serve --host $(HOST) --port $(PORT)

## test: the whole suite on SQLite, then on PostgreSQL (required when CI=true).
test: $(VENV)/.installed-dev browser-deps signature-deps ocr-deps mail-deps
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: $(VENV)/.installed-dev
	$(BIN)/pytest

test-postgres: $(VENV)/.installed-dev
	@if $(PY) scripts/pg_ready.py "$(PG_URL)"; then \
		echo "== PostgreSQL pass ($(PG_URL))"; \
		DATABASE_URL="$(PG_URL)" $(BIN)/pytest; \
	elif [ "$${CI:-}" = "true" ]; then \
		echo "PostgreSQL is required in CI but is not reachable at $(PG_URL)"; exit 1; \
	else \
		echo "SKIPPED the PostgreSQL pass: no server reachable at $(PG_URL) (set PG_URL)"; \
	fi

## browser-deps: Debian's Chromium for the Playwright browser tests.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian's chromium for the browser tests"; \
			(apt-get install -y -qq chromium >/dev/null 2>&1 || \
			 (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)); \
		else echo "chromium not found: browser tests will be skipped (install Debian's chromium)"; fi; }

## signature-deps: SoftHSM2 (a PKCS#11 token for the signing tests) and poppler's pdfsig.
signature-deps:
	@{ command -v softhsm2-util >/dev/null 2>&1 && command -v pdfsig >/dev/null 2>&1; } || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian's softhsm2 and poppler-utils for the signature tests"; \
			(apt-get install -y -qq softhsm2 poppler-utils >/dev/null 2>&1 || \
			 (apt-get update -qq && apt-get install -y -qq softhsm2 poppler-utils >/dev/null)); \
		else echo "softhsm2/pdfsig not found: token and pdfsig tests will be skipped"; fi; }

## ocr-deps: ocrmypdf, Tesseract (Thai, English) and poppler (pdftoppm, pdftotext) for the OCR intake.
ocr-deps:
	@{ command -v ocrmypdf >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 && \
	   tesseract --list-langs 2>/dev/null | grep -qx tha; } || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian's ocrmypdf and tesseract-ocr (tha, eng) for the OCR intake"; \
			(apt-get install -y -qq tesseract-ocr tesseract-ocr-tha tesseract-ocr-eng ocrmypdf poppler-utils >/dev/null 2>&1 || \
			 (apt-get update -qq && apt-get install -y -qq tesseract-ocr tesseract-ocr-tha tesseract-ocr-eng ocrmypdf poppler-utils >/dev/null)); \
		else echo "ocrmypdf/tesseract-ocr-tha not found: OCR tests will be skipped (scans are kept without text)"; fi; }

## mail-deps: Debian's Dovecot, the real IMAP server the central-mailbox tests start (each test
## run starts its own instance on a free port; the system service is not used).
mail-deps:
	@command -v dovecot >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian's dovecot-imapd for the mail tests"; \
			(apt-get install -y -qq dovecot-imapd >/dev/null 2>&1 || \
			 (apt-get update -qq && apt-get install -y -qq dovecot-imapd >/dev/null)); \
		else echo "dovecot not found: IMAP tests will be skipped (install Debian's dovecot-imapd)"; fi; }

## audit-deps: known vulnerabilities in the installed packages (pip-audit, PyPI's advisory data).
audit-deps: $(VENV)/.installed-dev
	$(PY) scripts/audit_deps.py

## lint: ruff, mypy, the layers contract (import-linter) and no ORM writes in web/api/tags.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(PY) scripts/check_no_orm_writes.py

## bench-numbering: registrations/s, p50/p99 and duplicates/gaps, SQLite and PostgreSQL.
bench-numbering: $(VENV)/.installed-dev
	$(PY) bench/numbering.py --db both

## bench-exchange: letters/s and p50/p99 send-to-registered between two nodes (PostgreSQL).
bench-exchange: $(VENV)/.installed-dev
	$(PY) bench/exchange.py

## fault-exchange: 1,000 letters between two nodes while workers, servers and the network
## fail at random; prints lost, duplicated and final-state counts (non-zero exit if any).
fault-exchange: $(VENV)/.installed-dev
	$(PY) bench/exchange_faults.py

## bench-ecms: letters/s and p50/p99 send-to-accepted (AcceptID back) between two nodes, each
## talking only to its own local e-CMS node, the two e-CMS nodes relaying (PostgreSQL).
bench-ecms: $(VENV)/.installed-dev
	$(PY) bench/ecms.py

## fault-ecms: 200 letters each way through two e-CMS nodes while e-CMS nodes, workers, servers
## and connections fail at random; prints lost, duplicated and final-state counts (non-zero exit if any).
fault-ecms: $(VENV)/.installed-dev
	$(PY) bench/ecms_faults.py

## bench-mail: mails taken in per second (the postfix-pipe path) and the time from arrival in
## the IMAP mailbox (Dovecot) to the electronic inbox with the poll running.
bench-mail: $(VENV)/.installed-dev mail-deps
	$(PY) bench/mail.py

## fault-mail: 500 mails in a real IMAP mailbox; the intake is killed (SIGKILL) mid-batch and
## restarted until all are in; prints lost and duplicated counts (non-zero exit if any).
fault-mail: $(VENV)/.installed-dev mail-deps
	$(PY) bench/mail_faults.py

## bench-desk: "my desk" p50/p95/p99 and queries per request with 100,000 letters (PostgreSQL).
bench-desk: $(VENV)/.installed-dev
	$(PY) bench/desk.py

## bench-documents: render, sign (B-B/B-T/B-LTA) and verify times per letter, p50/p99.
bench-documents: $(VENV)/.installed-dev
	$(PY) bench/documents.py

## bench-bombs: PDF, image and zip bombs through the file checks, OCR, stamp and verification.
bench-bombs: $(VENV)/.installed-dev
	$(PY) bench/bombs.py

## bench-search: 1,000,000 letters in PostgreSQL: query p50/p95/p99, index build time and size.
bench-search: $(VENV)/.installed-dev
	$(PY) bench/search.py

## bench-kpi: a province's indicator view over 1,000 LAOs and 10,000,000 letters: p50/p95.
bench-kpi: $(VENV)/.installed-dev
	$(PY) bench/kpi.py

## attack: start a node and replay every finding of the attack of issue 11 (secrets, audit chain,
## slow clients, bombs, logins, access, server errors, schemathesis); non-zero exit if one is not held.
attack: $(VENV)/.installed-dev
	$(PY) bench/attack.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
