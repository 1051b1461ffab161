"""Export: incidents leave the process as span events, incident spans, log events, metrics."""
