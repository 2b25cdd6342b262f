"""Console accounts: password hashes, roles, throttled sign-in."""
