"""Plug-ins that run inside the Rasa environment (Python 3.10, Rasa 3.6), never in the service's.

Rasa imports this package and `bot.domain` from the checkout (scripts/setup.sh writes a `.pth`);
config.yml, credentials.yml and the endpoints files name its classes. Nothing here imports any
other part of `bot` (tests/unit/test_imports.py holds that)."""
