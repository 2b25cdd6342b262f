"""Registered enterprises: profiles, tokens, one-time chat links, their tickets, `hotline enterprise`."""
