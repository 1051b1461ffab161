"""Investigation: what an incident affected and why (investigate, postmortems), and how to
keep it from coming back (regression cases, replay of recorded traffic, a gate for model
updates), from the incident store, the flight recorder and the containment history. The
highest stage: only the CLI and the demo import it."""
