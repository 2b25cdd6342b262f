"""Proofs of issue 14 that write their results to var/proofs/*.md: a fuzz run of the enterprise
API from its OpenAPI document (`python -m tools.proofs.fuzz`) and the privacy scan of every log
after synthetic conversations (`python -m tools.proofs.privacy`). The test suite runs each in a
bounded size (tests/test_proofs.py)."""
