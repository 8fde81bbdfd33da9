# The two set-up commands: `make run` and `make test`. Each creates .venv when it is
# missing and (re)installs the project when its build inputs change.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.hwnn-installed
# SCALE-Sim 3.0.0 lives in its own venv (it needs numpy<2.4); tests cross-check against it.
SCALESIM_VENV ?= .venv-scalesim
SCALESIM_STAMP := $(SCALESIM_VENV)/.installed
BUILD_INPUTS := pyproject.toml CMakeLists.txt $(wildcard csrc/*.cpp csrc/*.hpp)

.PHONY: run test install lint sanitize bench clean scalesim

$(PY):
	python3 -m venv $(VENV)

$(STAMP): $(BUILD_INPUTS) | $(PY)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

$(SCALESIM_STAMP):
	python3 -m venv $(SCALESIM_VENV)
	$(SCALESIM_VENV)/bin/pip install --quiet scalesim==3.0.0 'numpy<2.4'
	touch $@

scalesim: $(SCALESIM_STAMP)

run: install
	$(VENV)/bin/hwnn study

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

# The native kernels' own C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize:
	bash scripts/sanitize.sh

test: install lint scalesim sanitize
	$(VENV)/bin/python -m pytest

clean:
	rm -rf build hwnn-report .pytest_cache
