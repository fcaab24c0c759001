# Canopy. `make run` and `make test` work on a fresh machine with only Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test chromium lint typecheck bench eval migrate clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*; touch $@

## run: web + Celery worker + beat on the embedded default; replays the bundled snapshot offline
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py launch

## test: the whole suite (PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set)
test: $(STAMP) chromium
	$(PY) -m pytest $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium (Playwright cannot download its own here);
# as root, install it when it is missing, else the browser tests say how.
chromium:
	@test -x /usr/bin/chromium || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  (echo "Installing Debian's chromium for the browser tests..." && apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

typecheck: $(STAMP)
	$(VENV)/bin/mypy catalog licenses usage config hubreplay approvals portal

## bench: crawl the 760,000-model list through hubreplay into PostgreSQL (needs DATABASE_URL)
bench: $(STAMP)
	$(PY) benchmarks/crawl_bench.py
	$(PY) benchmarks/license_bench.py --db
	$(PY) benchmarks/search_bench.py --refresh
	$(PY) benchmarks/check_bench.py
	$(PY) benchmarks/profile_bench.py
	$(PY) benchmarks/search_bench.py --rounds 3  # again, with the profiles evaluated

## eval: license classification accuracy per category on real labelled cases
eval: $(STAMP)
	$(PY) evals/run.py

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

clean:
	rm -rf var/broker var/celerybeat-schedule*
