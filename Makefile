# cliptail: two commands cover the quickstart.
#   make reproduce   set up .venv (pinned, pip) and run the embedded default study end to end
#   make test        set up .venv and run the whole test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cliptail-installed
CORES ?= all
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: reproduce smoke test venv system-deps report clean-results

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (cliptail needs Python 3.11; set PYTHON=...)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

system-deps:
	@bash scripts/install_system_deps.sh

reproduce: venv system-deps
	$(BIN)/snakemake --cores $(CORES) --profile profiles/default
	$(BIN)/snakemake --cores $(CORES) --profile profiles/default --report results/report/report.html
	@echo
	@echo "Figures:       $(CURDIR)/results/figures/"
	@echo "HTML report:   $(CURDIR)/results/report/report.html"
	@echo "Claims table:  $(CURDIR)/results/report/claims.md"

smoke: venv system-deps
	$(BIN)/snakemake --cores $(CORES) --profile profiles/default --configfile config/presets/smoke.yaml

test: venv system-deps
	$(BIN)/python -m pytest -q

clean-results:
	rm -rf results/* .snakemake/metadata .snakemake/incomplete
