# The two set-up commands: `make run` and `make test`. Each creates .venv when it is
# missing and (re)installs the project when its build inputs change.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.hwnn-installed
# SCALE-Sim 3.0.0 lives in its own venv (it needs numpy<2.4); tests cross-check against it.
SCALESIM_VENV ?= .venv-scalesim
SCALESIM_STAMP := $(SCALESIM_VENV)/.installed
BUILD_INPUTS := pyproject.toml CMakeLists.txt $(wildcard csrc/*.cpp csrc/*.hpp)

.PHONY: run test install lint sanitize bench clean scalesim zigzag larq rivals rival-venvs

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

# ZigZag 3.9.1 (the design-space explorer researchers compare with) in its own venv:
# benchmarks/bench_zigzag.py and tests/hw/test_zigzag_rival.py run it beside hwnn.
# Its wheel imports six without declaring it.
ZIGZAG_VENV ?= .venv-zigzag
ZIGZAG_STAMP := $(ZIGZAG_VENV)/.installed

$(ZIGZAG_STAMP):
	python3 -m venv $(ZIGZAG_VENV)
	$(ZIGZAG_VENV)/bin/pip install --quiet zigzag-dse==3.9.1 six
	touch $@

zigzag: $(ZIGZAG_STAMP)

# Larq 0.14 and Larq Compute Engine 0.16 (with the TensorFlow its converter was built
# for) in their own venv: benchmarks/bench_lce.py and bench_larq.py, and
# tests/deploy/test_lce_rival.py, run them beside hwnn. LCE ships cp311 wheels.
LARQ_VENV ?= .venv-larq
LARQ_STAMP := $(LARQ_VENV)/.installed

$(LARQ_STAMP):
	python3.11 -m venv $(LARQ_VENV)
	$(LARQ_VENV)/bin/pip install --quiet tensorflow-cpu==2.16.2 tf-keras==2.16.0 larq==0.14.0 \
		larq-compute-engine==0.16.0
	touch $@

larq: $(LARQ_STAMP)

# Every rival tool the benchmarks measure hwnn against.
rivals: install scalesim zigzag larq

# make test builds ZigZag's and Larq's venvs where it can; where their wheels do not exist
# (another Python, another platform) their cross-check tests skip, with the reason.
rival-venvs:
	-@$(MAKE) --no-print-directory zigzag larq || \
		echo "warning: a rival venv did not build; its cross-check tests will skip"

run: install
	$(VENV)/bin/hwnn study

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

# The native kernels' own C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize:
	bash scripts/sanitize.sh

test: install lint scalesim rival-venvs sanitize
	$(VENV)/bin/python -m pytest

clean:
	rm -rf build hwnn-report .pytest_cache
