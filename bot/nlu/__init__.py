"""Custom Rasa NLU components. Imported only in the Rasa environment (Python 3.10, Rasa 3.6)."""
