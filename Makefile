# Last Mile Delivery for Odoo 19 — developer commands. See README.md.
# Variables (environment or `make VAR=value`): PORT, HTTP_INTERFACE, DB_NAME, TEST_DB_NAME, FRESH_DB, ODOO_PATH,
# DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, LASTMILE_HOME, DEBIAN_MIRROR, T (pytest arguments).
PYTHON ?= python3

.PHONY: run test provision lint pot stop-db

## Start Odoo on http://localhost:$(PORT) with the demo database (provisions what is missing).
run:
	@$(PYTHON) tools/devenv.py run

## Run every test, or only those in T (e.g. make test T=lastmile_delivery/tests/test_security.py).
test:
	@$(PYTHON) tools/devenv.py test $(T)

## Provision Odoo 19, the virtualenv and PostgreSQL without starting anything.
provision:
	@$(PYTHON) tools/devenv.py provision

## Check the code style (ruff).
lint: provision
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

## Refresh the translation templates i18n/*.pot of the addons.
pot:
	@$(PYTHON) tools/devenv.py pot

## Stop the private PostgreSQL server that `make run`/`make test` started.
stop-db:
	@$(PYTHON) tools/devenv.py stop-db
