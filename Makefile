# The two set-up commands: `make run` and `make test`. Each creates .venv when it is
# missing and (re)installs the project when its build inputs change.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.hwnn-installed
BUILD_INPUTS := pyproject.toml CMakeLists.txt $(wildcard csrc/*.cpp csrc/*.hpp)

.PHONY: run test install lint sanitize bench clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): $(BUILD_INPUTS) | $(PY)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

run: install
	$(VENV)/bin/hwnn study

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

test: install lint
	$(VENV)/bin/python -m pytest

clean:
	rm -rf build hwnn-report .pytest_cache
