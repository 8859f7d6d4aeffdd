# Two commands set everything up on a fresh Debian machine (as root): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
APT_RUN := libzbar0
APT_TEST := chromium postgresql fonts-dejavu-core

.PHONY: run test bench lint format sysdeps sysdeps-test venv venv-test clean

# --- system packages (apt-get only for what is missing) ---------------------------------------
# Installs the named Debian packages that are missing (root only; apt-get update once first).
define apt_ensure
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
	  || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then echo "Run as root or: apt-get install$$missing" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

sysdeps:
	$(call apt_ensure,$(APT_RUN))

sysdeps-test: sysdeps
	$(call apt_ensure,$(APT_TEST))

# --- Python environment -----------------------------------------------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

.stamp-venv: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

.stamp-venv-test: pyproject.toml .stamp-venv
	$(BIN)/pip install --quiet -e '.[test,dev]'
	@touch $@

.stamp-venv-bench: pyproject.toml .stamp-venv-test
	$(BIN)/pip install --quiet -e '.[test,dev,bench]'
	@touch $@

venv: .stamp-venv
venv-test: .stamp-venv-test

# --- the two commands -------------------------------------------------------------------------
run: sysdeps venv
	$(BIN)/mailroom init --demo
	$(BIN)/mailroom serve --with-worker --host $(HOST) --port $(PORT)

test: sysdeps-test venv-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: sysdeps-test .stamp-venv-bench
	$(BIN)/python -m benchmarks

lint: venv-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: venv-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .stamp-venv .stamp-venv-test .stamp-venv-bench
