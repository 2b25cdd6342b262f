"""Custom Rasa NLU components, imported only in the Rasa environment (Python 3.10, Rasa 3.6);
char_tfidf alone is free of Rasa, for `hotline tune` in the service environment."""
