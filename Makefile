# The two commands the README starts with: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint serve worker beat demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

# Local development settings, written once and never overwritten: DEBUG on and a
# random SECRET_KEY, so that every manage.py command (createaccount,
# createsuperuser, ...) runs as well as the server. Readable by its owner only.
.env:
	@key="$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" && \
		umask 077 && printf 'DEBUG=true\nSECRET_KEY=%s\n' "$$key" > $@
	@echo "make run: wrote .env for local use (DEBUG=true, a new random SECRET_KEY)"

# Install, migrate and serve on the embedded defaults (SQLite, no Redis), over ASGI.
run: $(VENV)/.installed .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Production-style serving: uvicorn with worker processes (set SECRET_KEY first),
# the admin's static files gathered into STATIC_ROOT and served by WhiteNoise.
# Several workers share revocations and balances only through Redis.
serve: $(VENV)/.installed
	@if [ "$${WORKERS:-2}" -gt 1 ] && [ -z "$$REDIS_URL" ]; then \
		echo "make serve: set REDIS_URL to run more than one worker (or WORKERS=1)"; \
		exit 2; fi
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/uvicorn llmtest.asgi:application --host $(HOST) --port $(PORT) \
		--workers $${WORKERS:-2} --no-access-log --loop uvloop --http httptools

# A Celery worker for benchmarks, when REDIS_URL is set (without Redis, benchmarks
# run on threads inside the gateway and need no worker). Threads suit the work: each
# task mostly waits for a model's answer.
worker: $(VENV)/.installed
	$(BIN)/celery -A llmtest worker --pool threads --concurrency $${CONCURRENCY:-8} \
		--loglevel $${LOG_LEVEL:-INFO}

# Celery beat, for the periodic models.dev sync (MODELS_DEV_SYNC=true, with REDIS_URL).
beat: $(VENV)/.installed
	$(BIN)/celery -A llmtest beat --loglevel $${LOG_LEVEL:-INFO}

test: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .

# The whole loop offline on a real small model (see the README's "Demo"): installs
# requirements-demo.txt (llama-cpp-python compiles llama.cpp the first time, about
# 12 minutes on 2 cores; pip's wheel cache makes later installs quick).
$(VENV)/.installed-demo: requirements.txt requirements-dev.txt requirements-demo.txt | $(BIN)/python
	@echo "make demo: installing requirements-demo.txt (the first time, llama.cpp compiles: ~12 min)"
	$(BIN)/pip install --quiet -r requirements-demo.txt
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed

demo: $(VENV)/.installed-demo
	$(BIN)/python -m demo

# Schemathesis against a gateway it starts on a free loopback port, wired to the fake
# providers (no call leaves the machine): no response may be a 5xx. DATABASE_URL
# picks the database (default: a new SQLite file).
.PHONY: schemathesis
schemathesis: $(VENV)/.installed-dev
	bash .ci/schemathesis
