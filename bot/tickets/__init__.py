"""Tickets: the database models, the ticket service (the only code that writes tickets), migrations."""
