# The two commands of this project. Each first creates or updates the
# project-local environment (tools/setup_env.sh; a no-op when current).
#   STACK=torch21   the second tested stack: .venv-torch21 from
#                   requirements/constraints-torch21.txt (default: .venv from
#                   requirements/constraints.txt)
#   TESTS=...       what `make test` runs (default: the whole suite)
STACK ?=
TESTS ?= tests
VENV := .venv$(if $(STACK),-$(STACK))
PYTHON := $(VENV)/bin/python

.PHONY: env test demo

env:
	STACK=$(STACK) bash tools/setup_env.sh

test: env
	$(PYTHON) -m pytest $(TESTS)

demo: env
	$(PYTHON) tools/demo.py
