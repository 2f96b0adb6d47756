# Hearth: `make demo` runs the simulated appliance, `make test` runs every test.
# Both set up what they need: missing Debian packages, a .venv with the
# project installed (editable) and the native extension, the pinned models.

PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
JOBS    ?= 2
NATIVE_SRC := $(shell find native -name '*.c' -o -name '*.h' -o -name '*.cdef' -o -name 'build_ffi.py')
DEBS    := $(shell grep -v '^\#' host_tools/deps/debian.txt)

.PHONY: all demo test test-python test-c test-cross bench size fuzz models debs venv native clean

all: native models

# ---- setup -------------------------------------------------------------
debs: build/.debs
build/.debs: host_tools/deps/debian.txt
	@mkdir -p build
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ $$(id -u) -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

venv: $(VENV)/.stamp
$(VENV)/.stamp: pyproject.toml setup.py
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip setuptools wheel cffi
	$(VPY) -m pip install -q --no-build-isolation -e '.[dev]'
	@touch $@

native: $(VENV)/.native
$(VENV)/.native: $(VENV)/.stamp $(NATIVE_SRC)
	$(VPY) native/ffi/build_ffi.py
	@touch $@

models: $(VENV)/.native
	$(VPY) -m hearth_tools.models import

# ---- the two commands --------------------------------------------------
demo: debs native models
	$(VPY) -m hearth_tools.cli demo

test: debs native models test-c test-cross test-python

test-python:
	$(VPY) -m pytest -q

test-c: debs
	cmake -S . -B build/host -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEARTH_SANITIZE=ON >/dev/null
	cmake --build build/host -j$(JOBS)
	ctest --test-dir build/host --output-on-failure

test-cross: debs
	for t in aarch64-linux-gnu arm-linux-gnueabihf; do \
	  cmake -S . -B build/$$t -DCMAKE_TOOLCHAIN_FILE=native/cmake/$$t.cmake -DCMAKE_BUILD_TYPE=Release >/dev/null && \
	  cmake --build build/$$t -j$(JOBS) && \
	  ctest --test-dir build/$$t --output-on-failure || exit 1; \
	done

# ---- measurements --------------------------------------------------------
bench: debs native models
	$(VPY) -m hearth_tools.cli bench all

size: debs native
	$(VPY) -m hearth_tools.cli bench size

# Every target of tests/fuzz/fuzz_targets.py for FUZZ_SECONDS each, checked
# against tests/fuzz/floors.json (make test runs the same, at each target's
# own budget, as tests/fuzz/test_fuzz_coverage.py). docs/FUZZING.md.
FUZZ_SECONDS ?= 300
fuzz: debs native models
	$(VPY) tests/fuzz/fuzz_runner.py --seconds $(FUZZ_SECONDS)

clean:
	rm -rf build firmware/hearth/_native*.so $(VENV)/.native
