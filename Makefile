# The front door: `make dev` runs the API locally, `make test` runs everything CI runs.
SHELL := /bin/bash
# This folder, also when `sam build` runs a build-* target elsewhere (scripts/ is not in the layer's copy).
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
.DEFAULT_GOAL := help

VENV := .venv
VENV_SAM := .venv-sam
VENV_SCAN := .venv-scan
PY := $(VENV)/bin/python
SAM := $(VENV_SAM)/bin/sam
# sam build looks for python3.13 on PATH; the project venv provides it.
SAM_ENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0

.PHONY: help venv dev invoke openapi lint format zbar chromium jq test unit e2e build delete bench clean screenshots build-CommonLayer build-PasskeyLayer build-OtpFunction build-BarcodesFunction build-EventsFunction

help:
	@echo "make dev     run the whole API on http://127.0.0.1:3000 (no AWS account, no Docker; PORT=, VERBOSE=1, PARAMETERS=)"
	@echo "make test    lint, validate the template, run every test"
	@echo "make unit    the pure-function tests only, in seconds"
	@echo "make lint    ruff, mypy, cfn-lint and checkov only"
	@echo "make format  ruff format and fix"
	@echo "make e2e     the end-to-end suite: local server, or API_URL=https://... API_KEY=..., or STACK=<name>"
	@echo "make build   sam build: the arm64 deployment package, bytecode included, in .aws-sam/build"
	@echo "make delete STACK=<name>  empty the image bucket, sam delete, say what is retained (state table, sealing key)"
	@echo "make bench   cold start, warm latency, package size and memory against a baseline"
	@echo "make invoke FUNCTION=OtpFunction EVENT=events/otp-generate.json   one event, one function"
	@echo "make openapi regenerate openapi.json and docs/events.schema.json from the code"
	@echo "make screenshots  refresh docs/demo.png and docs/swagger.png (the demo and Swagger UI in Chromium)"

# Two steps: `make dev` installs what the local server needs; `make test` adds the test and lint tools.
$(VENV)/.installed-local: requirements-local.txt layers/common/requirements.txt layers/passkey/requirements.txt scripts/find-python313
	@python313="$$(scripts/find-python313)" && { [ -x $(PY) ] || "$$python313" -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-local.txt
	@touch $@

$(VENV)/.installed: requirements-dev.txt $(VENV)/.installed-local
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

$(VENV_SAM)/.installed: requirements-sam.txt scripts/find-python313
	@python313="$$(scripts/find-python313)" && { [ -x $(SAM) ] || "$$python313" -m venv $(VENV_SAM); }
	$(VENV_SAM)/bin/python -m pip install --quiet -r requirements-sam.txt
	@touch $@

$(VENV_SCAN)/.installed: requirements-scan.txt scripts/find-python313
	@python313="$$(scripts/find-python313)" && { [ -x $(VENV_SCAN)/bin/checkov ] || "$$python313" -m venv $(VENV_SCAN); }
	$(VENV_SCAN)/bin/python -m pip install --quiet -r requirements-scan.txt
	@touch $@

venv: $(VENV)/.installed

# REGIONS=3: three Regions on PORT..PORT+2 (devserver/regions.py). PORT (default 3000) and VERBOSE=1 (the functions' logs and metrics in full) as the server's own options;
# PARAMETERS='Name=Value ...' sets template parameters, as sam deploy --parameter-overrides does.
dev: $(VENV)/.installed-local
	@$(PY) -m devserver $(if $(filter-out 0 false no,$(VERBOSE)),--verbose) $(if $(PARAMETERS),--parameters "$(PARAMETERS)") $(if $(REGIONS),--regions "$(REGIONS)")

FUNCTION ?= OtpFunction
EVENT ?= events/otp-generate.json
invoke: $(VENV)/.installed-local
	$(PY) -m devserver.invoke $(FUNCTION) $(EVENT)

openapi: $(VENV)/.installed
	$(PY) scripts/openapi.py
	$(PY) scripts/event_schemas.py

lint: $(VENV)/.installed $(VENV_SCAN)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/common/otp_api devserver tooling
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV_SCAN)/bin/checkov --config-file .checkov.yaml

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Debian packages the tests need: `$(call apt-install,CHECK,PACKAGE,HOW ELSEWHERE)` installs PACKAGE with apt
# where it can (as root) unless CHECK passes, and otherwise says how.
define apt-install
@$(1) || { \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get install -y -q $(2) >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q $(2) >/dev/null; }; \
  else \
    echo "$(3)"; exit 1; \
  fi; }
endef

# The QR tests read codes back with zbar too; its library is not a Python package.
ZBAR_FOUND = $(PY) -c "import ctypes.util, sys; sys.exit(not ctypes.util.find_library('zbar'))" 2>/dev/null
zbar: $(VENV)/.installed
	$(call apt-install,$(ZBAR_FOUND),libzbar0,The tests need the zbar library: sudo apt-get install libzbar0 (Debian/Ubuntu) or brew install zbar (macOS))

# The browser tests drive Debian's Chromium through Playwright (no browser download).
CHROMIUM_FOUND = [ -n "$(CHROMIUM)" ] || command -v chromium >/dev/null
chromium: $(VENV)/.installed
	$(call apt-install,$(CHROMIUM_FOUND),chromium,The browser tests need Chromium: sudo apt-get install chromium (Debian/Ubuntu) or set CHROMIUM=/path/to/chrome)

# The docs' examples (tests/docs) pipe answers through jq, as a reader's terminal would.
JQ_FOUND = command -v jq >/dev/null
jq:
	$(call apt-install,$(JQ_FOUND),jq,The docs tests need jq: sudo apt-get install jq (Debian/Ubuntu) or brew install jq (macOS))

test: lint zbar chromium jq $(VENV_SAM)/.installed
	$(SAM_ENV) $(SAM) validate --lint --template template.yaml
	$(PY) -m pytest --cov

# Pure functions only: seconds, nothing beyond the venv (no AWS emulation, no zbar, no SAM, no browser).
unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

build: $(VENV)/.installed $(VENV_SAM)/.installed
	$(SAM_ENV) $(SAM) build

# Delete a deployed stack: the image bucket emptied first, `sam delete`, then what was retained (the verify-state
# table and the sealing key) and how to adopt them (docs/operations.md).
delete: $(VENV)/.installed-local $(VENV_SAM)/.installed
	@[ -n "$(STACK)" ] || { echo "usage: make delete STACK=<stack name>"; exit 1; }
	$(SAM_ENV) $(PY) scripts/delete_stack.py "$(STACK)" $(SAM)

# The end-to-end suite (tests/e2e): against the local server, started for it, or a running API (API_URL, API_KEY),
# or a deployed stack by name (STACK: its URL and key read with your AWS credentials).
e2e: $(VENV)/.installed
	@echo "pytest tests/e2e against $(or $(STACK),$(API_URL),the local server)"  # not the command: it holds the key
	@E2E_API_URL="$(API_URL)" E2E_API_KEY="$(API_KEY)" E2E_STACK="$(STACK)" $(PY) -m pytest tests/e2e

# `sam build` runs these itself (template.yaml: BuildMethod makefile), each in a copy of the resource's CodeUri,
# with ARTIFACTS_DIR the folder to fill. They need python3.13 on PATH, as SAM's own Python builder does.
# LAMBDA_ARCH: the template's architecture; tooling/packaging.py builds for this machine's to run the package here.
LAMBDA_ARCH ?= arm64
# Wheels for the Lambda runtime's glibc (2.34 on Amazon Linux 2023); pip does not infer older manylinux tags.
LAMBDA_CPU = $(if $(filter arm64,$(LAMBDA_ARCH)),aarch64,x86_64)
LAMBDA_PLATFORMS = $(foreach tag,manylinux2014 manylinux_2_28 manylinux_2_34,--platform $(tag)_$(LAMBDA_CPU))
# Bytecode in the package: /var/task and /opt are read-only, so without it every cold start compiles what it
# imports (twice as slow). Unchecked hashes, because zip archives round file times and timestamp-checked
# bytecode would look stale.
COMPILE = python3.13 -m compileall -q -j 0 --invalidation-mode unchecked-hash

build-CommonLayer:
	python3.13 -m pip install --quiet --no-compile --only-binary=:all: $(LAMBDA_PLATFORMS) \
	  --implementation cp --python-version 3.13 --target "$(ARTIFACTS_DIR)/python" -r requirements.txt
	rm -rf "$(ARTIFACTS_DIR)/python/bin" "$(ARTIFACTS_DIR)/python/share"  # console scripts and man pages
	cp -R otp_api "$(ARTIFACTS_DIR)/python/"
	# the models of what the code calls, cut from the botocore the layer ships (first on PYTHONPATH), whose own
	# 28 MB of data then goes: the layer's botocore is the one that runs, so the cut always matches it
	PYTHONPATH="$(ARTIFACTS_DIR)/python" python3.13 "$(ROOT)scripts/botocore_data.py" \
	  --operations otp_api/aws_operations.py --expect-botocore-in "$(ARTIFACTS_DIR)/python" \
	  "$(ARTIFACTS_DIR)/python/otp_api/botocore_data"
	rm -rf "$(ARTIFACTS_DIR)/python/botocore/data"
	# the CA bundle botocore chooses with this layer (certifi's if it shipped one; botocore's own), as a directory of
	# hashed certificates that OpenSSL reads lazily; -S: the build's own site-packages (and certifi) left out
	PYTHONPATH="$(ARTIFACTS_DIR)/python" python3.13 -S "$(ROOT)scripts/ca_directory.py" \
	  --expect-bundle-in "$(ARTIFACTS_DIR)/python" "$(ARTIFACTS_DIR)/python/otp_api/ca_certificates"
	$(COMPILE) "$(ARTIFACTS_DIR)"

build-PasskeyLayer:
	python3.13 -m pip install --quiet --no-compile --only-binary=:all: $(LAMBDA_PLATFORMS) \
	  --implementation cp --python-version 3.13 --target "$(ARTIFACTS_DIR)/python" -r requirements.txt
	rm -rf "$(ARTIFACTS_DIR)/python/bin"
	$(COMPILE) "$(ARTIFACTS_DIR)"

build-OtpFunction build-BarcodesFunction build-EventsFunction:
	cp *.py "$(ARTIFACTS_DIR)/"
	$(COMPILE) "$(ARTIFACTS_DIR)"

bench: $(VENV)/.installed $(VENV_SAM)/.installed
	$(PY) -m bench $(if $(RUNS),--runs $(RUNS))

# The README's pictures of the local pages: the browser tests, saving what they see.
screenshots: $(VENV)/.installed chromium
	mkdir -p docs
	SCREENSHOTS_DIR=docs $(PY) -m pytest -q tests/local/test_browser_pages.py

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache
