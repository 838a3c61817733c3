# posterm — the two set-up commands are `make test` and `make demo`; `make check` is the
# fast tier (lint and the tests that start no process) to run on every change.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# subpackages that must pass mypy --strict (tools/typecheck.py, run by `make lint`)
SOURCES := bench daemon drivers host hw-sim protocol tests tools
TYPED  := posterm.protocol posterm.drivers posterm.daemon posterm.host
# the tests are independent processes on their own ports and files. The fast tier is CPU
# work: one worker per core. `make test` waits much of its time on the processes it starts
# (postermd, posterm-host, Mosquitto, PostgreSQL, a browser): a third worker, and idle
# workers take tests queued for the others (2 cores, 2026-12-05: 617 s with -n 2, 483 s
# like this; beside stress-ng --cpu 2, 922 s and 750 s)
PYTEST_ARGS ?= -n 2
TEST_ARGS ?= -n 3 --dist worksteal

.PHONY: check test demo lint bench fuzz fuzz-atheris clean deb lock docs pi-smoke

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,sim]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	! grep -rnE "fmt: (skip|off)" --include="*.py" $(SOURCES)   # formatted as ruff says, no exceptions
	$(PY) tools/typecheck.py $(TYPED)
	$(VENV)/bin/mkdocs build --strict --quiet   # a broken link or anchor fails

# the documentation site (mkdocs.yml), into build/site/; the reference pages are generated
# from the code at build time (tools/docs_reference.py)
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

# the fast tier, for every change (under a minute on 2 cores): lint, the import-linter
# contracts of pyproject.toml on the source tree (the symlink tree build/mypy/ that
# tools/typecheck.py builds in `lint`), and the tests that start no process. A test that
# starts one (postermd, a simulator, Mosquitto, PostgreSQL, chromium, a CLI, a build) is
# marked `slow`; tests/support/tiers.py fails one that is not.
check: $(STAMP) lint
	cd build/mypy && PYTHONPATH=. $(CURDIR)/$(VENV)/bin/lint-imports --config $(CURDIR)/pyproject.toml
	HYPOTHESIS_PROFILE=check $(PY) -m pytest -m "not slow" $(PYTEST_ARGS) -q

# the full suite: the fast tier and the slow one (real processes, Mosquitto, PostgreSQL,
# chromium, the wheel and the .deb)
test: $(STAMP) lint
	$(PY) -m pytest $(TEST_ARGS)

# the fuzzers of tests/fuzz with the `long` hypothesis profile (20,000+ examples per test;
# `make test` runs them with `ci`, 150); a failure is kept in .hypothesis/ and replayed first
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=long $(PY) -m pytest tests/fuzz $(PYTEST_ARGS) -q

# coverage-guided (libFuzzer) runs of the byte decoders, FUZZ_SECONDS each; atheris has
# wheels for x86_64 Linux only (not the Pi). Crashes land in build/atheris/.
FUZZ_SECONDS ?= 60
fuzz-atheris: $(STAMP)
	$(PY) -m pip install --quiet 'atheris>=2.3'
	for target in zvt frame escpos command control; do \
	  $(PY) tools/fuzz_atheris.py $$target -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    || exit 1; \
	done

demo: $(STAMP)
	$(PY) -m posterm.hwsim.demo $(ARGS)

bench: $(STAMP)
	$(PY) bench/report.py $(ARGS)

# the Debian packages, in dist/ (packaging/build-deb.sh): posterm (the terminal: postermd,
# the operator CLI, its unit, udev rules) and posterm-host (the back office, its unit, the
# Mosquitto, Prometheus and Grafana examples), each a venv under /opt/<package> from its own
# lock (packaging/packages.toml), with sysusers, tmpfiles, conffiles, DEP-5 copyright and
# changelog.Debian.gz; for the architecture of the machine it runs on, or
# `make deb DEB_ARCH=arm64` (a Pi's, on a PC). Needs dpkg-deb and python3-venv.
deb: $(STAMP)
	packaging/build-deb.sh dist

# the arm64 package proven under emulation (tools/pi_smoke.py; root, qemu-user-static and
# debootstrap): apt installs it in a Debian bookworm arm64 root (made once, cached in
# ~/.cache/posterm/pi-root), where postermd sells against the simulators on this machine and
# `posterm status` answers; what it wrote stays in build/pi-smoke/. PI_DEB names the
# package; without it, the arm64 terminal package is built first (as `make deb DEB_ARCH=arm64`).
PI_DEB ?=
pi-smoke: $(STAMP)
	$(if $(PI_DEB),,DEB_ARCH=arm64 PACKAGES=posterm packaging/build-deb.sh dist)
	$(PY) tools/pi_smoke.py $(or $(PI_DEB),$$(ls -t dist/posterm_*_arm64.deb | head -n 1)) $(ARGS)

# re-pin the runtime dependencies of each package's lock (packaging/packages.toml), with
# hashes, after changing pyproject.toml or packaging/pi.in (existing pins stay;
# `make lock LOCK_ARGS=--upgrade` moves them all): the terminal's has pyproject.toml's
# dependencies and pi.in, the back office's those and the host and web extras
LOCK_FLAGS = --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
	--no-emit-find-links $(LOCK_ARGS)
lock: $(STAMP)
	$(PY) -m pip install --quiet 'pip-tools>=7.4'
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) -o packaging/posterm.lock pyproject.toml packaging/pi.in
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) --extra host --extra web \
	    -o packaging/posterm-host.lock pyproject.toml

clean:
	rm -rf $(VENV) build dist *.egg-info demo-out
