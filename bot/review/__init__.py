"""The review of what the bot understood: corrections, flags, their export, the leakage check."""
