"""Investigation: what an incident affected, how to keep it from coming back (regression
cases, replay of recorded traffic, a gate for model updates). Only the CLI imports it."""
