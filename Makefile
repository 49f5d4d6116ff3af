# The targets CI and developers share. `make run` and `make test` are the whole set-up.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install run test test-unit lint bench contracts clean

install:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --all-packages --frozen --quiet

run: install
	$(UV) run zhongshi up --demo

test: install
	$(UV) run pytest $(PYTEST_ARGS)

test-unit: install
	$(UV) run pytest -m "not integration" $(PYTEST_ARGS)

lint: install
	$(UV) run ruff check .
	$(UV) run mypy -p zhongshi_contracts -p zhongshi_runtime -p zhongshi_intake -p zhongshi_screening \
		-p zhongshi_review -p zhongshi_registry -p zhongshi_notify -p zhongshi_console -p zhongshi -p bench
	$(UV) run mypy tests/faults

bench: install
	$(UV) run python bench/run.py $(BENCH_ARGS)

contracts: install
	$(UV) run python -m zhongshi.contracts

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
