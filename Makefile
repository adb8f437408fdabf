# One-word targets for a newcomer: `make demo` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint typecheck check bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres,outlook]'
	touch $(STAMP)

demo: $(STAMP)  ## set up, then run the main job on the bundled C&P sample into output/demo/
	$(BIN)/agreementgen demo --out output/demo

test: $(STAMP)  ## set up, then run lint, type checks and the whole test suite
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)  ## the benchmarks: national data loading, bulk rendering, ingesting returns, statements, status board
	$(BIN)/python bench/load.py
	$(BIN)/python bench/bulk.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/statements.py
	$(BIN)/python bench/board.py
	$(BIN)/python bench/upload.py

screenshots: $(STAMP)  ## the README's pictures of the web app, taken in headless Chromium, into docs/screenshots/
	AGREEMENTGEN_SCREENSHOTS=1 $(BIN)/pytest -q tests/test_web_browser.py -k screenshot

clean:
	rm -rf $(VENV) output/demo .pytest_cache .mypy_cache .ruff_cache
