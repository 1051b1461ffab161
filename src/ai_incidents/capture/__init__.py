"""Capture: LLM calls over httpx/httpx2 become GenAI spans and ``Interaction`` records."""

from ai_incidents.capture.context import feature, no_retrieval
from ai_incidents.capture.endpoints import endpoints
from ai_incidents.capture.feedback import record_feedback
from ai_incidents.capture.interaction import Interaction, Message, Retrieval, RetrievedDocument
from ai_incidents.capture.listeners import add_listener, remove_listener
from ai_incidents.capture.retrieval import record_retrieval, retrieval

__all__ = [
    "Interaction",
    "Message",
    "Retrieval",
    "RetrievedDocument",
    "add_listener",
    "endpoints",
    "feature",
    "no_retrieval",
    "record_feedback",
    "record_retrieval",
    "remove_listener",
    "retrieval",
]
