# The two commands of the README. Both set up everything they need on a fresh machine.
#   make run   — serve on http://127.0.0.1:8080 with the embedded defaults
#   make test  — run the gates (make check), then the whole test suite
#   make check — the gates alone: ruff lint and format, mypy, import contracts
#   make lock  — resolve the lock files again after a change to the dependencies in pyproject.toml

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
NODE_STAMP := node_modules/.installed
# Every Python package, direct or transitive, pinned with its hashes: what the service runs on,
# and that plus the test extras. Both hold pip and the build backend too, so nothing is fetched
# unpinned: the project itself is installed without its dependencies and without build isolation.
LOCK := requirements.txt
TEST_LOCK := requirements-test.txt

.PHONY: run test check install browser node clean lock

# The new environment's pip is first replaced by the locked one (its lines of the lock, hashes
# and all), which then installs the rest.
$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("meetsvc needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	@$(VENV_CHECK)
	$(PYTHON) -m venv $(VENV)
	awk '/^pip==/ {on = 1} on {print} on && !/\\$$/ {exit}' $(LOCK) > $(VENV)/pip.lock
	$(BIN)/python -m pip install --quiet --require-hashes -r $(VENV)/pip.lock

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(TEST_LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@ $(STAMP)

# The lock files, resolved by uv (from the test extras) for every platform and Python from 3.11 on.
# Debian and Ubuntu ship Python without its venv module (the python3-venv package). Install it like
# the browser packages where we can (root with apt); elsewhere stop at once with one line.
VENV_PACKAGES := python3-venv
VENV_CHECK = has() { $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; }; has && exit 0; \
	if [ "$$(id -u 2>/dev/null)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(VENV_PACKAGES) >/dev/null) || true; \
	  has && exit 0; fi; \
	echo "meetsvc needs Python's venv module: install it (on Debian or Ubuntu: sudo apt-get install $(VENV_PACKAGES)), then run make again" >&2; \
	exit 1

# Pins already in a lock file are kept unless pyproject.toml asks otherwise; to move one transitive
# package: make lock LOCK_ARGS="--upgrade-package NAME". The test set is resolved first and the
# runtime set within it, so the tests run on exactly the versions the service does.
LOCK_ARGS ?=
LOCK_OPTIONS = --universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command "make lock" $(LOCK_ARGS)
INSTALL_TOOLS = $(BIN)/python -c 'import tomllib; print("pip", *tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
lock: $(TEST_STAMP)
	$(INSTALL_TOOLS) | $(BIN)/uv pip compile pyproject.toml - --extra test $(LOCK_OPTIONS) -o $(TEST_LOCK)
	$(INSTALL_TOOLS) | $(BIN)/uv pip compile pyproject.toml - --constraint $(TEST_LOCK) $(LOCK_OPTIONS) -o $(LOCK)

# The pages' browser libraries (socket.io client, axe-core for tests) come from the npm
# registry at set-up; they are served by the service and never committed.
$(NODE_STAMP): package.json package-lock.json
	@$(NODE_CHECK)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# npm needs node and npm. Install them like the browser packages where we can (root with apt);
# elsewhere stop at once with one line that says what to install. `make node` runs the check alone.
NODE_PACKAGES := nodejs npm
NODE_CHECK = has() { command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; }; has && exit 0; \
	if [ "$$(id -u 2>/dev/null)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(NODE_PACKAGES) >/dev/null) || true; \
	  has && exit 0; fi; \
	echo "meetsvc needs node and npm: install them (on Debian or Ubuntu: sudo apt-get install $(NODE_PACKAGES)), then run make again" >&2; \
	exit 1
node:
	@$(NODE_CHECK)

# Browser tests drive Debian's Chromium, and one test checks the nginx example with `nginx -t`.
# Install both where we can (root with apt); elsewhere those tests skip with the reason (and
# fail in CI, which must run them).
SYSTEM_PACKAGES := chromium nginx
browser:
	@missing=""; for p in $(SYSTEM_PACKAGES); do command -v $$p >/dev/null 2>&1 || [ -x /usr/sbin/$$p ] || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || echo "note: could not install$$missing from Debian; the tests that need them will be skipped"; \
	  else echo "note:$$missing not installed; the tests that need them will be skipped"; fi; fi

install: $(NODE_STAMP) $(STAMP)

run: $(NODE_STAMP) $(STAMP)
	$(BIN)/meetsvc migrate
	$(BIN)/meetsvc serve

# Every gate runs even when an earlier one fails, so one run shows all that is wrong; the target
# fails if any did. Configuration for all four lives in pyproject.toml.
check: $(TEST_STAMP)
	@failed=""; \
	echo "== ruff check"; $(BIN)/ruff check . || failed="$$failed ruff-check"; \
	echo "== ruff format --check"; $(BIN)/ruff format --check . || failed="$$failed ruff-format"; \
	echo "== mypy"; $(BIN)/mypy || failed="$$failed mypy"; \
	echo "== lint-imports"; $(BIN)/lint-imports --no-logo || failed="$$failed lint-imports"; \
	if [ -n "$$failed" ]; then echo "make check FAILED:$$failed" >&2; exit 1; fi; \
	echo "make check: all gates pass"

test: $(NODE_STAMP) check $(TEST_STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache node_modules .mypy_cache .ruff_cache .import_linter_cache
