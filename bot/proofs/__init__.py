"""Proofs of issue 14 that write their results to var/proofs/*.md: a fuzz run of the enterprise
API from its OpenAPI document (`python -m bot.proofs.fuzz`) and the privacy scan of every log
after synthetic conversations (`python -m bot.proofs.privacy`). The test suite runs each in a
bounded size (tests/test_proofs.py)."""
