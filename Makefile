# Quick start: `make run` (set up, build the default run if missing, start the app on :8501)
# and `make test` (set up, run the tests). Both work on a fresh machine with Python 3.11 + pip.
# `make test-fast` leaves out the slow, browser and cluster tests (a quick loop while editing).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: run test test-fast typecheck setup default-run presenter-secrets bench clean browser schemas

# The pinned requirements are the lock; the package itself (pyproject.toml: engine, simulators,
# collector, ui and the drcl-* commands) is then installed editable on top, without resolving again.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# The app reads runs as Parquet folders under data/runs; build the default preset's run once.
default-run: $(STAMP)
	@id=$$($(BIN)/python -c "from engine.scenario import load_preset; print(load_preset('eu_shop').run_id)"); \
	if [ -d data/runs/$$id ]; then echo "default run $$id present"; \
	else mkdir -p data/runs && $(BIN)/python -m simulators generate --preset eu_shop --out data/runs --quiet; fi

# Presenter login needs .streamlit/secrets.toml. Created on first start, never from the example: a
# random cookie key and the bcrypt hash of DRCL_PRESENTER_PASSWORD or of a random password printed
# once. An existing file is kept (and the terminal warns if it holds the example's public secrets).
presenter-secrets: $(STAMP)
	$(BIN)/python -m ui.presenter_secrets .streamlit/secrets.toml

# The published JSON Schemas (schemas/) from the code: run after changing engine/wire.py or engine/schema.py.
schemas: $(STAMP)
	$(BIN)/python -m engine.schemas export

run: default-run presenter-secrets
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

# The browser smoke test drives Debian's chromium (`playwright install` cannot download browsers here;
# CI runs as root on Debian). Never skipped: a missing chromium is installed, not excused.
browser:
	@if [ ! -x /usr/bin/chromium ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; fi

# mypy over engine/, simulators/ and collector/ (settings in pyproject.toml).
typecheck: $(STAMP)
	$(BIN)/mypy

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
# `make test` runs everything (CI calls it) in two passes: the tests without a browser on two workers
# (pytest-xdist, a test file per worker: its module fixtures stay in one process), then the browser
# tests alone, one at a time, so their timing checks (a learner within 2 s of the presenter) do not
# share the two cores with a simulation. `make test-fast` skips the tests marked slow, browser or
# cluster (pytest.ini).
test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	@$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not browser"; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; [ $$rc -eq 0 ] || exit $$rc; \
	$(BIN)/python -m pytest -q -m browser; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no browser tests: failing"; exit 1; fi; exit $$rc

test-fast: $(STAMP)
	$(BIN)/ruff check .
	@$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow and not browser and not cluster"; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python benchmarks/simulate.py
	$(BIN)/python benchmarks/funnel.py
	$(BIN)/python benchmarks/attribution.py
	$(BIN)/python benchmarks/fingerprint_calibration.py
	PYTHONPATH=. $(BIN)/python -m benchmarks.collector_load

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache *.egg-info
