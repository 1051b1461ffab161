"""ai-incidents: detect, raise and contain AI incidents in LLM applications, on OpenTelemetry."""

from ai_incidents.bootstrap import install
from ai_incidents.capture import (
    Interaction,
    Message,
    Retrieval,
    RetrievedDocument,
    add_listener,
    endpoints,
    feature,
    no_retrieval,
    record_feedback,
    record_retrieval,
    remove_listener,
    retrieval,
)
from ai_incidents.capture.instrumentor import AIIncidentsInstrumentor
from ai_incidents.config import Settings, configure, get_settings
from ai_incidents.detection.observation import fingerprint
from ai_incidents.evaluation import EvaluationResult, Evaluator, evaluate_interaction, evaluators
from ai_incidents.pipeline import IncidentPipeline
from ai_incidents.version import __version__

# The composition root: evaluation listens to capture (capture never imports evaluation).
add_listener(evaluate_interaction)

__all__ = [
    "AIIncidentsInstrumentor",
    "EvaluationResult",
    "Evaluator",
    "IncidentPipeline",
    "Interaction",
    "Message",
    "Retrieval",
    "RetrievedDocument",
    "Settings",
    "__version__",
    "add_listener",
    "configure",
    "endpoints",
    "evaluate_interaction",
    "evaluators",
    "feature",
    "fingerprint",
    "get_settings",
    "install",
    "no_retrieval",
    "record_feedback",
    "record_retrieval",
    "remove_listener",
    "retrieval",
]
