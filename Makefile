# callqa: two commands for a newcomer -- `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DEMO_DATA ?= var/demo
# The demo calls' fictional companies: the checklists' {company} placeholder (one company per deployment
# in real use, set CALLQA_COMPANY_NAMES to yours).
DEMO_COMPANIES ?= ТехПрокат,Окна Плюс,Дента Люкс,СмартЛид,Старт Бизнес

.PHONY: demo test venv venv-test system-deps lint bench clean-demo

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel
	# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e ".[test]"
	touch $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

## System packages the tests use: festival + festvox-ru (speech synthesis), sox, Chromium (UI tests).
system-deps:
	bash scripts/system_deps.sh

## Process the bundled demo recordings on the embedded defaults and print the scorecards.
demo: venv
	CALLQA_DATA_DIR=$(DEMO_DATA) CALLQA_COMPANY_NAMES="$(DEMO_COMPANIES)" $(VENV)/bin/callqa demo --folder demo/recordings

## Set up and run the whole test suite.
test: venv-test system-deps
	$(PY) -m pytest -q

lint: venv-test
	$(VENV)/bin/ruff check .

clean-demo:
	rm -rf $(DEMO_DATA)

## Optional pyannote.audio 4 diarization backend: its own pinned venv (torch 2.9.1 + torchaudio 2.9.1,
## about 7 GB, CUDA build that runs on CPU), then its tests on a locally built pipeline.
PYANNOTE_VENV ?= .venv-pyannote
.PHONY: test-pyannote

$(PYANNOTE_VENV)/.installed: requirements/pyannote.txt
	$(PYTHON) -m venv $(PYANNOTE_VENV)
	$(PYANNOTE_VENV)/bin/pip install -q --upgrade pip wheel
	$(PYANNOTE_VENV)/bin/pip install -q -r requirements/pyannote.txt
	# callqa without its own pins (pyproject pins torch==2.13.0); its deps are in the requirements file
	$(PYANNOTE_VENV)/bin/pip install -q -e . --no-deps
	touch $@

test-pyannote: $(PYANNOTE_VENV)/.installed system-deps
	CALLQA_REQUIRE_PYANNOTE=1 $(PYANNOTE_VENV)/bin/python -m pytest -q -m pyannote tests/asr/test_pyannote_backend.py
