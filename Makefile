# Quick start: `make run` (set up, build the default run if missing, start the app on :8501)
# and `make test` (set up, run the tests). Both work on a fresh machine with Python 3.11 + pip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: run test setup default-run bench clean browser

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

# The app reads runs as Parquet folders under data/runs; build the default preset's run once.
default-run: $(STAMP)
	@id=$$($(BIN)/python -c "from engine.scenario import load_preset; print(load_preset('eu_shop').run_id)"); \
	if [ -d data/runs/$$id ]; then echo "default run $$id present"; \
	else mkdir -p data/runs && $(BIN)/python -m simulators generate --preset eu_shop --out data/runs --quiet; fi

# Presenter login needs .streamlit/secrets.toml: start from the example (the app then warns that
# example secrets are in use until you set your own).
.streamlit/secrets.toml:
	cp .streamlit/secrets.toml.example .streamlit/secrets.toml

run: default-run .streamlit/secrets.toml
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

# The browser smoke test drives Debian's chromium (`playwright install` cannot download browsers here;
# CI runs as root on Debian). Never skipped: a missing chromium is installed, not excused.
browser:
	@if [ ! -x /usr/bin/chromium ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; fi

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: $(STAMP) browser
	$(BIN)/ruff check .
	@$(BIN)/python -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python benchmarks/simulate.py
	$(BIN)/python benchmarks/funnel.py
	$(BIN)/python benchmarks/fingerprint_calibration.py
	$(BIN)/python benchmarks/collector_load.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
