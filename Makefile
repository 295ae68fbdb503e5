# Two jobs on a fresh machine: `make run` (set up, migrate, run) and `make test`.
# `make check` and `make migrate` run those commands alone; ENV_FILE=path picks the env file
# (default: .env when it exists).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ENV_FILE ?=
SALESBOT := $(BIN)/salesbot $(if $(ENV_FILE),--env-file $(ENV_FILE))

.PHONY: setup run test lint check migrate

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

run: setup
	@if [ ! -f .env ]; then \
		cp deploy/salesbot.env.example .env; \
		echo "Wrote .env from deploy/salesbot.env.example. Fill in API_ID, API_HASH (my.telegram.org),"; \
		echo "BOT_TOKEN (@BotFather), ADMIN_TELEGRAM_ID (your Telegram user id) and OPENROUTER_API_KEY."; \
		echo "DATABASE_URL: point it at your PostgreSQL, or delete that line to use the embedded"; \
		echo "PostgreSQL server in DATA_DIR (~/.local/share/salesbot). Then run 'make run' again."; \
		exit 1; \
	fi
	$(SALESBOT) check
	$(SALESBOT) migrate
	$(SALESBOT) run

check: setup
	$(SALESBOT) check

migrate: setup
	$(SALESBOT) migrate

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
