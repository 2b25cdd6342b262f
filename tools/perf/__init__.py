"""`hotline bench`: our bot beside a stock Rasa bot under the same load (docs/bench.md).

stats (numbers from timings), load (the aiohttp callers), bots (training and starting both),
machine (where it ran, memory), report (markdown), runner (the whole run).
"""
