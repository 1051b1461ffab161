"""Notifications: incidents pushed to a webhook (signed JSON) and to PagerDuty (Events API
v2), each from a background sender with retries, as sinks of the incident manager."""
