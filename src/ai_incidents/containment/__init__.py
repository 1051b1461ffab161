"""Containment: what is done about an incident (feature disabled for everyone or for one
user, model rolled back, human review, heightened monitoring), in force across the processes
of a host through the store and past one host through flags (OpenFeature, flagd)."""
