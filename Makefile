# Two commands a newcomer needs: `make demo` and `make test`. Both build .venv themselves.
PYTHON_VERSION := 3.12
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-out

.PHONY: demo test lint venv clean

# pyenv (on these machines) honours .python-version; otherwise look for python3.12 on PATH.
PYTHON_BOOT := $(shell command -v python$(PYTHON_VERSION) 2>/dev/null || (command -v pyenv >/dev/null && pyenv which python 2>/dev/null) || command -v python3)

$(STAMP): pyproject.toml
	@$(PYTHON_BOOT) -c 'import sys; assert sys.version_info >= (3, 12), f"atlas_bayes needs Python >= 3.12, found {sys.version.split()[0]} at {sys.executable}"'
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/atlas-bayes demo --out $(DEMO_OUT) --force

# Two pytest-xdist workers: compiling a model uses one core, so a second worker fills the other
# (tests sharing the sampled session fits stay on one worker; see tests/conftest.py).
# The browser test (tests/test_report_browser.py) needs Debian's chromium: installed here
# when missing and apt-get exists, else the test skips and says how to install it.
test: $(STAMP)
	@command -v chromium >/dev/null || (command -v apt-get >/dev/null && apt-get install -y -qq chromium) || echo "chromium not installed: the browser test will skip"
	$(PY) -m pytest -n 2 --dist loadgroup --durations=15

lint: $(STAMP)
	$(VENV)/bin/ruff check atlas_bayes tests benchmarks
	$(VENV)/bin/ruff format --check atlas_bayes tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache
