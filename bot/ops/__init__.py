"""The processes we start and how: the supervisor, the profiles, the action server's entry."""
