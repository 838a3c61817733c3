# posterm — the two set-up commands are `make test` and `make demo`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# subpackages that must pass mypy --strict (tools/typecheck.py, run by `make lint`)
TYPED  := posterm.protocol posterm.drivers posterm.daemon posterm.host
# the tests are independent processes on their own ports and files: one worker per core
PYTEST_ARGS ?= -n 2

.PHONY: test demo lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,sim]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) tools/typecheck.py $(TYPED)

test: $(STAMP) lint
	$(PY) -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(PY) -m posterm.hwsim.demo $(ARGS)

bench: $(STAMP)
	$(PY) bench/report.py $(ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info demo-out
