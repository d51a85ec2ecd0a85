# The two commands of this project. Each first creates or updates the
# project-local environment .venv (tools/setup_env.sh; a no-op when current).
PYTHON := .venv/bin/python

.PHONY: env test demo

env:
	bash tools/setup_env.sh

test: env
	$(PYTHON) -m pytest tests

demo: env
	$(PYTHON) tools/demo.py
