"""Investigation and postmortems of stored incidents, from the incident store, the flight
recorder and the containment history. The highest stage: only the CLI imports it."""
