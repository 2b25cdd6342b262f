"""Development tooling, run from the checkout and never installed or read by the running service:
harness.py (a throw-away stack for a measurement), eval/ (NLU quality, `hotline eval`), perf/
(`hotline bench` and the other benchmarks, docs/bench.md), proofs/ (fuzz, privacy, load)."""
