# Tidlig: two commands on a fresh machine with Python 3.11 — `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export MLFLOW_DISABLE_TELEMETRY := true
export GX_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 180

.PHONY: demo test typecheck lint format bench setup browser clean notebook

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.4"
	@$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@# Byte-compile the environment once, so the first `tidlig` command does not pay for it.
	@$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null 2>&1 || true
	@touch $(STAMP)
	@echo "Environment ready in $(VENV)."

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: setup
	@$(BIN)/tidlig demo

# Strict on features/, models/, privacy/ (the [tool.mypy] section of pyproject.toml).
typecheck: setup
	@$(BIN)/mypy --config-file pyproject.toml

test: setup browser
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy --config-file pyproject.toml
	@$(BIN)/python -m pytest -n 2 --dist loadfile -q

# JupyterLab from the project's environment on the notebooks, reading the home HOME_DIR (default: the
# demo's tidlig-data; synthetic data, so the demo key); umask 077 as every tidlig command (D97).
HOME_DIR ?= tidlig-data
notebook: setup
	@umask 077; TIDLIG_HOME=$(abspath $(HOME_DIR)) TIDLIG_DEMO=$${TIDLIG_DEMO-1} $(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

format: setup
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

bench: setup
	@$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) tidlig-data .pytest_cache
