# Two entry points for a fresh machine: `make run` (main job on embedded defaults) and `make test`.
# Both create the virtual environment and install every Python and npm part first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := contracts/node_modules/.installed

# The default local run skips the heavy lanes; CI (CI=true) runs every lane within its budget.
ifeq ($(CI),true)
PYTEST_LANES ?=
else
PYTEST_LANES ?= -m "not slow and not crash and not fuzz and not brownie"
endif

.PHONY: run test setup lint clean

# Tool environments of the contracts lanes, kept out of .venv: slither pulls its own web3, and
# eth-brownie pins web3 7.16 and takes over pytest. CI builds both before the tests; a local run
# builds them on first use (tests/contracts/conftest.py runs `make <stamp>`).
TOOLS_STAMP := .venv-tools/.installed
BROWNIE_STAMP := .venv-brownie/.installed
ifeq ($(CI),true)
CI_TOOL_ENVS := $(TOOLS_STAMP) $(BROWNIE_STAMP)
endif

# The main job: simulate a Sybil attack on 50,000 nodes with the Hyperbrick policy and the
# Kubernetes-like baseline on the same seed; ends by printing the HTML report's path.
run: setup
	$(BIN)/hyperbrick sim run sybil_attack --out runs/make-run

test: setup lint $(CI_TOOL_ENVS)
	$(BIN)/pytest $(PYTEST_LANES) $(PYTEST_ARGS)

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

$(NPM_STAMP): contracts/package.json contracts/package-lock.json
	cd contracts && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(TOOLS_STAMP): contracts/requirements-slither.txt
	test -x .venv-tools/bin/python || $(PYTHON) -m venv .venv-tools
	.venv-tools/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

$(BROWNIE_STAMP): contracts/brownie/requirements.txt
	test -x .venv-brownie/bin/python || $(PYTHON) -m venv .venv-brownie
	.venv-brownie/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .venv-tools .venv-brownie contracts/node_modules contracts/out contracts/cache .pytest_cache .mypy_cache .ruff_cache
