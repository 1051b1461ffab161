"""Severity of a grouped incident: what the detector saw, then scope (requests, distinct users
or sessions) and duration.

A candidate arrives with the severity of its own evidence (see the detector) and a ceiling.
A grouped incident never goes down while it is open, and escalates one level at a time:

- request-level incidents (one offending request each): from ``REQUESTS_TO_ESCALATE``
  requests or ``USERS_TO_ESCALATE`` distinct users or sessions, one level up; a second level
  from ten times as many; and one more level after ``ESCALATE_AFTER_S`` still recurring;
- population-level incidents carry their scope in their evidence already (the share of
  affected requests), so only their own severity counts;
- never above the candidate's ceiling (an attempt that leaked nothing stays at most medium).
"""

from __future__ import annotations

from ai_incidents.incidents.model import SEVERITIES, Severity, capped

REQUESTS_TO_ESCALATE = 10
USERS_TO_ESCALATE = 3
ESCALATE_AFTER_S = 3600.0


def higher(a: Severity, b: Severity) -> Severity:
    return a if SEVERITIES.index(a) <= SEVERITIES.index(b) else b


def raised(severity: Severity, levels: int, ceiling: Severity) -> Severity:
    """``severity`` up by ``levels``, not above ``ceiling``."""
    index = max(SEVERITIES.index(severity) - levels, SEVERITIES.index(ceiling), 0)
    return SEVERITIES[min(index, SEVERITIES.index(severity))]


def scope_levels(count: int, users: int, duration_s: float) -> tuple[int, str]:
    """Levels a request-level incident escalates by for its scope, and why."""
    levels, reasons = 0, []
    if count >= REQUESTS_TO_ESCALATE * 10 or users >= USERS_TO_ESCALATE * 10:
        levels = 2
    elif count >= REQUESTS_TO_ESCALATE or users >= USERS_TO_ESCALATE:
        levels = 1
    if levels:
        reasons.append(f"{count} requests, {users} users or sessions")
    if duration_s >= ESCALATE_AFTER_S and count >= 3:
        levels += 1
        reasons.append(f"recurring for {duration_s / 3600:.1f} h")
    return levels, "; ".join(reasons)


def assess(
    current: Severity,
    candidate: Severity,
    ceiling: Severity,
    population: bool,
    count: int,
    users: int,
    duration_s: float,
) -> tuple[Severity, str]:
    """The grouped incident's severity after one more candidate, and the reason if it rose."""
    severity = higher(current, capped(candidate, ceiling))
    reason = ""
    if severity != current:
        reason = "its evidence is more severe"
    if not population:
        levels, why = scope_levels(count, users, duration_s)
        scoped = raised(capped(candidate, ceiling), levels, ceiling)
        if SEVERITIES.index(scoped) < SEVERITIES.index(severity):
            severity, reason = scoped, why
    return severity, reason
