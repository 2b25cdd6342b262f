"""Pure domain rules shared by the Rasa environment (NLU components) and the service environment.

Standard library only: this package is imported under Python 3.10 by Rasa and under 3.11 by the
action server and web service, so it must not import Rasa, rasa-sdk, SQLAlchemy or aiohttp.
"""
