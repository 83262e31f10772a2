# The two commands: `make run` (the workstation, demo mode) and `make test`.
# Both install what is missing: Debian packages (scripts/system-deps.sh) and a .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SYSDEPS := $(VENV)/.sysdeps-ok
INSTALLED := $(VENV)/.installed
XVFB := xvfb-run -a -s "-screen 0 1920x1080x24 -nolisten tcp"
SHOTS := screenshots

.PHONY: run test screenshot bench lint translations clean installer

run: $(INSTALLED)
	$(PY) -m app --demo

test: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) scripts/check_architecture.py
	$(PY) scripts/translations.py check
	dbus-run-session -- $(XVFB) $(VENV)/bin/pytest

screenshot: $(INSTALLED)
	mkdir -p $(SHOTS)
	$(XVFB) $(PY) -m app --demo --screenshot $(SHOTS)/main-en.png --lang en
	$(XVFB) $(PY) -m app --demo --screenshot $(SHOTS)/main-zh_CN.png --lang zh_CN
	@echo "Wrote $(SHOTS)/main-en.png and $(SHOTS)/main-zh_CN.png"

bench: $(INSTALLED)
	@for b in benchmarks/[!_]*.py; do echo "== $$b"; $(XVFB) $(PY) $$b --quick || exit 1; done

lint: $(INSTALLED)
	$(VENV)/bin/ruff check . && $(VENV)/bin/mypy && $(VENV)/bin/lint-imports

# Regenerates the .ts sources from the code and compiles the shipped .qm files.
translations: $(INSTALLED)
	$(PY) scripts/translations.py update

$(SYSDEPS): scripts/system-deps.sh
	./scripts/system-deps.sh
	@mkdir -p $(VENV) && touch $@

$(INSTALLED): pyproject.toml $(SYSDEPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# The PyInstaller bundle (dist/teleconsult/) and the Debian package (dist/teleconsult_*.deb).
installer: $(INSTALLED)
	$(PY) installer/build.py all --out dist

clean:
	rm -rf $(VENV) build dist *.egg-info $(SHOTS)
