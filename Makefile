# The targets CI and developers share. `make run` and `make test` are the whole set-up.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PYTEST_ARGS ?=
BENCH_ARGS ?=
# The console's browser tests: Debian's Chromium and a CJK font (a test tool cannot download its own browser
# here), npm for axe-core, pinned. Installed as root when missing; otherwise a clear failure, never a skip.
BROWSER_PACKAGES := chromium fonts-noto-cjk  # and npm, when the machine has none (it comes with Node here)
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
AXE_VERSION := 4.14.1
AXE := var/browser/node_modules/axe-core/axe.min.js

.PHONY: install run test test-fast lint bench contracts clean browser-setup

install:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --all-packages --frozen --quiet --compile-bytecode  # compiled once here, not at every start (see docs/testing.md)

run: install
	$(UV) run zhongshi up --demo

test: install browser-setup
	$(UV) run pytest --durations=30 $(PYTEST_ARGS)  # the 30 slowest steps close the report: where the minutes go

browser-setup:
	@if [ ! -x /usr/bin/chromium ] || [ ! -f $(CJK_FONT) ] || ! command -v npm >/dev/null 2>&1; then \
		packages="$(BROWSER_PACKAGES)"; command -v npm >/dev/null 2>&1 || packages="$$packages npm"; \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$packages; \
		else \
			echo "The browser tests need Debian's $$packages: run 'make test' as root once," \
				"or 'sudo apt-get install $$packages'." >&2; exit 1; \
		fi; \
	fi
	@test -f $(AXE) || npm install --silent --no-save --no-audit --no-fund --prefix var/browser \
		axe-core@$(AXE_VERSION)

test-fast: install  # the inner loop: unit and handler tests, no servers, on every core (pytest-xdist)
	$(UV) run pytest -n auto -m "unit or handler" $(PYTEST_ARGS)

# Tests are checked by path (--explicit-package-bases): services/<name>/tests are namespace packages, so their
# conftests and relative imports resolve without clashing.
lint: install
	$(UV) run ruff check .
	$(UV) run mypy -p zhongshi_contracts -p zhongshi_runtime -p zhongshi_intake -p zhongshi_screening \
		-p zhongshi_review -p zhongshi_registry -p zhongshi_notify -p zhongshi_console -p zhongshi -p bench
	$(UV) run mypy --explicit-package-bases tests libs/*/tests services/*/tests

bench: install
	$(UV) run python bench/run.py $(BENCH_ARGS)

contracts: install
	$(UV) run python -m zhongshi.contracts

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
