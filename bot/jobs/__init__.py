"""Background rounds, each claimed once across the web service's replicas."""
