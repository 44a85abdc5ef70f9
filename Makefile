# Two commands from a fresh clone: `make run` and `make test`.
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test check lint typecheck pytest clean check-release

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode
	touch $@

install: $(VENV)/.synced

run: install
	mkdir -p var
	$(BIN)/course-supporter db upgrade
	@echo ""
	@echo "Course Supporter on http://$(HOST):$(PORT) (docs at /docs). In another terminal:"
	@echo "  $(BIN)/course-supporter tenants create acme"
	@echo "  $(BIN)/course-supporter keys create --tenant acme --scopes prep,check"
	@echo "  curl -H 'X-API-Key: <key>' http://$(HOST):$(PORT)/api/v1/me"
	@echo ""
	$(BIN)/course-supporter serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

# mypy --strict over src/ and tests/ (the packages in pyproject's [tool.mypy]).
typecheck: install
	$(BIN)/mypy

# PostgreSQL and Redis tests run when these answer; REQUIRE_SERVICES=1 (CI) turns a skip into a failure.
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
export TEST_POSTGRES_URL TEST_REDIS_URL

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

check: lint typecheck

test: check pytest

# The wheel outside the checkout without the dev group, and the Dockerfile's install steps replayed.
check-release: install
	bash scripts/check_release.sh

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
include deploy/check-deploy.mk
