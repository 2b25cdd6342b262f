"""Tickets: the ticket service (the only code that writes tickets), look-ups, notices, the queue,
routing, statistics, a ticket's transcript."""
