# Two commands a newcomer needs: `make run` and `make test`. Both build .venv on first use.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
PORT   ?= 8000

.PHONY: run test test-fast lint bench-grading install install-dev chromium

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	# torch first and pinned: 2.13.0 is the CPU build; unpinned pip pulls a multi-GB CUDA build.
	$(PIP) install -q --disable-pip-version-check torch==2.13.0
	$(PIP) install -q --disable-pip-version-check -r requirements.txt
	# The grader's ONNX export (cached outside the tree, GRADER_ONNX_CACHE), so a first start is fast.
	$(PY) -m ai_service.grading.onnx_backend
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## Install, migrate, create demo data, print a candidate link and an admin login, serve on :$(PORT).
run: $(VENV)/.runtime
	$(PY) manage.py serve_demo --port $(PORT)

# Debian's Chromium for the browser test (never a downloaded browser build); installing needs root.
# Under CI (CI set and not 0/false/no, as tests/e2e/test_browser.py reads it) a chromium that is
# missing is an error, so that a green CI run cannot hide a browser test that never ran.
chromium:
	@command -v chromium >/dev/null 2>&1 && exit 0; \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && \
			command -v chromium >/dev/null 2>&1 && exit 0; \
		echo "chromium: installing Debian's chromium with apt-get failed"; \
	else \
		echo "chromium is not installed and this is not root (installing it needs root)"; \
	fi; \
	case "$$(printf %s "$${CI:-}" | tr A-Z a-z)" in \
		""|0|false|no) echo "chromium: the browser test will be skipped";; \
		*) echo "chromium: CI is set, and CI must run the browser test: failing"; exit 1;; \
	esac

# Test worker processes (pytest-xdist); tests of one file stay in one worker (shared fixtures).
TEST_WORKERS ?= 3

## Install everything, then lint, type-check and run the whole test suite.
test: $(VENV)/.dev chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy .
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile

## The unit and in-process tests only (no real servers, browser or subprocesses; the fuzzers with a
## fifth of their examples): about a minute.
test-fast: $(VENV)/.dev
	FUZZ_SCALE=0.2 $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow"

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy .

bench-grading: $(VENV)/.dev
	$(PY) bench/grading.py
