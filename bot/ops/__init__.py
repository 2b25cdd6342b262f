"""The processes we start and how: the action server's entry point (more to come)."""
