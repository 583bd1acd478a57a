# cliptail: two commands cover the quickstart.
#   make reproduce   set up .venv (pinned, pip) and run the embedded default study end to end
#   make test        set up .venv and run the whole test suite
# Also: make smoke (the smoke study, minutes), make lint (what CI checks before the tests).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cliptail-installed
CORES ?= all
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: reproduce smoke test lint venv system-deps clean-results

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (cliptail needs Python 3.11; set PYTHON=...)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The WordNet 3.0 Debian packages, for the tests (needs root or sudo). Neither the embedded study
# nor the real-data rules need them: the rules fetch WordNet themselves (rule wordnet).
system-deps:
	@bash scripts/install_system_deps.sh

# The embedded default study; the HTML report is written when the run ends.
reproduce: venv
	$(BIN)/snakemake --cores $(CORES) --report-after-run --report results/report/report.html
	@echo
	@echo "Figures:       $(CURDIR)/results/figures/"
	@echo "HTML report:   $(CURDIR)/results/report/report.html"
	@echo "Claims table:  $(CURDIR)/results/report/claims.md"

smoke: venv
	$(BIN)/snakemake --cores $(CORES) --configfile config/presets/smoke.yaml

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(BIN)/snakemake --lint --cores 1
	$(BIN)/snakemake --lint --cores 1 --configfile config/presets/paper.yaml

test: venv system-deps
	$(BIN)/python -m pytest -q

clean-results:
	rm -rf results/* .snakemake/metadata .snakemake/incomplete
