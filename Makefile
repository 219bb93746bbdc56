# cnnlessons: one command per job. Every target that needs the environment builds it
# first, so `make test` and `make book` work on a fresh clone with Python 3.11 and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard chapters/*.ipynb))
# Notebooks run with the kernel's own inline matplotlib backend and a fixed hash seed,
# whether `make notebooks` stores the outputs or nbval checks them.
NB_ENV := env -u MPLBACKEND PYTHONHASHSEED=0

.PHONY: help setup data lint test test-package test-oldest test-notebooks book notebooks lab benchmarks \
	check-book mutate clean

help:
	@echo "make setup       create .venv and install cnnlessons with pinned versions"
	@echo "make lint        ruff over the package, tests, benchmarks and chapters"
	@echo "make data        make sure MNIST is in data/ (verify, else download; see book/setup.md)"
	@echo "make test        lint, package tests, notebooks checked by nbval, book built with -W"
	@echo "make test-oldest the package tests against the oldest torch/torchvision declared"
	@echo "make book        build the HTML book into _build/html"
	@echo "make notebooks   re-execute every chapter in place and store its outputs"
	@echo "make lab         open the chapters in JupyterLab"
	@echo "make benchmarks  time the scratch layers against torch"
	@echo "make check-book  build the book and check every page in headless Chromium"
	@echo "make mutate      mutation testing of the package (about 50 min; MUTANTS=glob for a part)"

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[book,test]"
	touch $(STAMP)

# MNIST checked by its md5s, downloaded when missing ($$CNNLESSONS_MNIST_MIRROR to use a
# classroom's copy); offline and missing, it says what to do.
data: setup
	$(BIN)/python -m cnnlessons data

lint: setup
	$(BIN)/ruff check .

test: setup lint data
	$(NB_ENV) $(BIN)/python -m pytest tests chapters --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg
	$(MAKE) --no-print-directory book

test-package: setup data
	$(BIN)/python -m pytest tests

# The lower end of pyproject.toml's torch range, in its own venv: the oldest torch and
# torchvision it declares (torch>=X becomes torch==X), setuptools as that torch wants
# it, everything else at the tested versions of constraints.txt.
OLDEST := .venv-oldest
OLDEST_PINS = $(shell $(PYTHON) -c "import re, tomllib; \
	deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
	print(*(re.sub(r'>=([^,]+).*', r'==\1', d) for d in deps if re.match(r'torch(vision)?>=', d)))")
OLDEST_STAMP := $(OLDEST)/.installed

$(OLDEST_STAMP): pyproject.toml constraints.txt
	test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	grep -vE '^(torch|torchvision|triton|nvidia-|cuda-|setuptools)' constraints.txt > $(OLDEST)/constraints.txt
	$(OLDEST)/bin/python -m pip install --quiet --disable-pip-version-check \
		-c $(OLDEST)/constraints.txt -e ".[test]" $(OLDEST_PINS)
	touch $(OLDEST_STAMP)

test-oldest: $(OLDEST_STAMP)
	$(OLDEST)/bin/python -m cnnlessons data
	$(OLDEST)/bin/python -m pytest tests

test-notebooks: setup data
	$(NB_ENV) $(BIN)/python -m pytest chapters --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg

book: setup data
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book: file://$(CURDIR)/_build/html/index.html"

notebooks: setup
	$(NB_ENV) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=900 --ExecutePreprocessor.kernel_name=python3 $(NOTEBOOKS)

lab: setup
	$(BIN)/jupyter lab chapters

benchmarks: setup
	$(BIN)/python benchmarks/layers.py
	$(BIN)/python benchmarks/zoo.py
	$(BIN)/python benchmarks/lenet_mnist.py

clean:
	rm -rf _build

# Debian's Chromium and its driver drive the browser check (installed once, as root).
CHROMIUM_PACKAGES := chromium chromium-driver

check-book: book
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM_PACKAGES); }
	$(BIN)/python tests/check_book.py

# Mutation testing of scratch/, shapes, receptive_field, checkpoint and exercises/
# ([tool.mutmut] in pyproject.toml): each mutant runs only the tests that reach it; the
# survivors are printed at the end. Long (not part of `make test`); MUTANTS='glob' for a part.
mutate: setup
	nice -n 19 $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/mutmut results
