# The interface for people and CI alike. `make run` and `make test` are the README's two commands.
SHELL := /bin/bash
VENV := .venv/bin

.PHONY: setup run test test-fast train lint lock chat eval audit audit-online

setup:
	@bash scripts/setup.sh
	@$(VENV)/hotline setup

run: setup
	@$(VENV)/hotline run

test: setup
	@bash scripts/test-system.sh
	@$(VENV)/python -m pytest $(PYTEST_ARGS)

# The lane without the real servers or a browser: no trained model, no Rasa process.
test-fast: setup
	@$(VENV)/python -m pytest -m "not stack and not browser" $(PYTEST_ARGS)

train: setup
	@$(VENV)/hotline train

chat:
	@$(VENV)/hotline chat

# The NLU evaluation with both baselines (Rasa's stock DIET trained in 94 min on 2 cores; cached per data).
eval: setup
	@$(VENV)/hotline eval

lint: setup
	@$(VENV)/ruff check bot rasa_plugins actions tools tests
	@$(VENV)/ruff format --check bot rasa_plugins actions tools tests
	@$(VENV)/mypy

# Re-resolve both lock files, each in one pass (needs uv: .venv/bin/uv after setup).
lock: export UV_PYTHON_DOWNLOADS = never
lock:
	@$(VENV)/uv pip compile requirements/service.in --python-version 3.11 --python-platform x86_64-manylinux_2_28 -o requirements/service.lock
	@$(VENV)/uv pip compile requirements/rasa.in --python-version 3.10 --python-platform x86_64-manylinux_2_28 --override requirements/rasa-overrides.txt -o requirements/rasa.lock

# Known advisories in both lock files, offline: every pin against the dated snapshot of the
# Python Packaging Advisory Database in ../shared/advisories; fails on any finding that
# requirements/audit-allowlist.yml does not review (docs/security.md). CI runs it.
audit: setup
	@$(VENV)/python scripts/audit_locks.py

# The same question asked of PyPI's and OSV's online services, where they can be reached.
audit-online: setup
	@status=0; for lock in requirements/service.lock requirements/rasa.lock; do \
		echo "== pip-audit $$lock"; \
		$(VENV)/pip-audit --strict --disable-pip --no-deps --progress-spinner off -r $$lock || status=1; \
	done; exit $$status
