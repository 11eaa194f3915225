# Two entry points: `make demo` (install, capture the example, validate) and `make check`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# pywb, the replay client tests/test_replay.py runs, has a venv of its own: its brotlipy
# dependency installs a `brotli` module that would shadow the one preserve decodes with.
PYWB_VENV ?= .venv-pywb
# tests/test_browser.py opens the access copy in Debian's Chromium, never a downloaded one.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
# tests/test_batch_celery.py starts Debian's redis-server on a free loopback port (the broker
# of `batch --broker` and the workers it starts).
REDIS_SERVER ?= /usr/bin/redis-server
export REDIS_SERVER

# The install is editable in setuptools' compat mode: a path entry to the clone rather than an
# import hook, so `import preserve` finds the package even from the folder that holds the clone,
# where the clone's own folder (also named preserve) would otherwise be taken for a namespace.
EDITABLE = --config-settings editable_mode=compat

.PHONY: demo check install install-tool install-replay browser test redis lint clean bench-latency bench-big bench-validate bench-browser bench-batch

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The tool alone (its runtime dependencies), as `make demo` needs it.
install-tool: $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(EDITABLE) -e .

# The tool and the test toolchain, as `make check` needs them.
install: $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(EDITABLE) -e '.[test]'

$(PYWB_VENV)/bin/wayback:
	$(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/python -m pip install --quiet 'pywb>=2.8,<3'

install-replay: $(PYWB_VENV)/bin/wayback

# As root on Debian (as CI runs), installs the chromium package when it is missing; elsewhere
# says what to install and stops.
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
			&& [ -x $(CHROMIUM) ]; \
	else \
		echo "make check needs Chromium at $(CHROMIUM) for tests/test_browser.py:" \
			"on Debian run 'sudo apt-get install chromium'; elsewhere install Chromium and" \
			"run 'make check CHROMIUM=/path/to/chromium'." >&2; \
		exit 1; \
	fi

# As root on Debian (as CI runs), installs the redis-server package when it is missing;
# elsewhere says what to install and stops.
redis:
	@if [ -x $(REDIS_SERVER) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server \
			&& [ -x $(REDIS_SERVER) ]; \
	else \
		echo "make check needs redis-server at $(REDIS_SERVER) for tests/test_batch_celery.py:" \
			"on Debian run 'sudo apt-get install redis-server'; elsewhere install Redis and" \
			"run 'make check REDIS_SERVER=/path/to/redis-server'." >&2; \
		exit 1; \
	fi

demo: install-tool
	$(BIN)/python examples/demo.py bags
	@echo "preserve is installed in $(VENV): run $(BIN)/preserve, or 'source $(BIN)/activate' first" >&2

# Benchmarks (docs/performance.md): one command each from a fresh clone. They compare with
# wget and GNU time (/usr/bin/time) when installed, and print figures; they assert nothing.
bench-latency: install
	$(BIN)/python benchmarks/latency.py

bench-big: install
	$(BIN)/python benchmarks/big_payload.py

bench-validate: install
	$(BIN)/python benchmarks/validate_many.py

bench-browser: install browser
	$(BIN)/python benchmarks/browser.py

bench-batch: install redis
	$(BIN)/python benchmarks/batch.py --celery --manifest

lint:
	$(BIN)/ruff format --check preserve tests examples benchmarks
	$(BIN)/ruff check preserve tests examples benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test:
	$(BIN)/pytest -n 2

check: install install-replay browser redis lint test

clean:
	rm -rf $(VENV) $(PYWB_VENV) bags build *.egg-info .mypy_cache .pytest_cache .ruff_cache .hypothesis
