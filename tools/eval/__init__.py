"""`hotline eval`: how well the NLU understands text it never trained on, next to two baselines."""
