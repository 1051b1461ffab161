"""Every telemetry name ai-incidents reads or writes, defined once.

GenAI names follow the OpenTelemetry GenAI semantic conventions as of semconv v1.41.1
(now maintained in open-telemetry/semantic-conventions-genai). The ``ai.*`` names are this
project's public contract: alert rules and dashboards depend on them.
"""

from typing import Final

from opentelemetry.semconv.attributes import error_attributes, server_attributes

INSTRUMENTATION_SCOPE: Final = "ai_incidents"

# Stable general attributes.
SERVER_ADDRESS: Final = server_attributes.SERVER_ADDRESS
SERVER_PORT: Final = server_attributes.SERVER_PORT
ERROR_TYPE: Final = error_attributes.ERROR_TYPE

# Who a call is made for (named by the app).
ENDUSER_ID: Final = "enduser.id"
USER_ID: Final = "user.id"
SESSION_ID: Final = "session.id"

# GenAI span attributes.
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
GEN_AI_RETRIEVAL_QUERY_TEXT: Final = "gen_ai.retrieval.query.text"
GEN_AI_RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"

# GenAI operation names.
OPERATION_CHAT: Final = "chat"
OPERATION_EMBEDDINGS: Final = "embeddings"
OPERATION_TEXT_COMPLETION: Final = "text_completion"
OPERATION_RETRIEVAL: Final = "retrieval"

# GenAI events.
GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS: Final = "gen_ai.client.inference.operation.details"
GEN_AI_EVALUATION_RESULT: Final = "gen_ai.evaluation.result"
GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

# GenAI metrics.
GEN_AI_CLIENT_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
GEN_AI_CLIENT_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"

# Our attributes on LLM spans.
AI_FEATURE_NAME: Final = "ai.feature.name"
AI_QUALITY_SCORE: Final = "ai.quality.score"
AI_QUALITY_FLAGS: Final = "ai.quality.flags"
AI_SAFETY_SCORE: Final = "ai.safety.score"
AI_SAFETY_FLAGGED: Final = "ai.safety.flagged"
AI_SAFETY_CATEGORIES: Final = "ai.safety.categories"
AI_RETRIEVAL_RELEVANCE: Final = "ai.retrieval.relevance"
AI_RETRIEVAL_MAX_AGE_S: Final = "ai.retrieval.max_age_s"
AI_RETRIEVAL_FLAGS: Final = "ai.retrieval.flags"

# Fingerprints of the prompt (hashes, never content): what changed when behaviour changed.
AI_PROMPT_SYSTEM_HASH: Final = "ai.prompt.system_hash"
"""The system instructions' fingerprint."""
AI_PROMPT_CONTEXT_HASH: Final = "ai.prompt.context_hash"
"""The fingerprint of everything before the last user message (the prompt template)."""

# Ground truth on recorded spans, for scoring detection in replay (set by whoever labels).
AI_LABEL_FAILURE_MODE: Final = "ai.label.failure_mode"
"""The failure mode the call really shows (``quality_degradation``, ..., or ``none``)."""

# Capture bookkeeping on LLM spans.
AI_CAPTURE_ERROR: Final = "ai.capture.error"
AI_CAPTURE_DROPPED_BYTES: Final = "ai.capture.dropped_bytes"
AI_CAPTURE_STREAM_ABANDONED: Final = "ai.capture.stream_abandoned"
AI_CAPTURE_CHUNKS: Final = "ai.capture.chunks"
AI_RETRIEVAL_DOCUMENT_COUNT: Final = "ai.retrieval.document_count"

# User feedback, emitted as an `ai.feedback` span linked to the rated call and as a log event.
AI_FEEDBACK: Final = "ai.feedback"
AI_FEEDBACK_SCORE: Final = "ai.feedback.score"
AI_FEEDBACK_LABEL: Final = "ai.feedback.label"
AI_FEEDBACK_COMMENT: Final = "ai.feedback.comment"

# Incidents.
AI_INCIDENT: Final = "ai.incident"
AI_INCIDENT_ID: Final = "ai.incident.id"
AI_INCIDENT_SEVERITY: Final = "ai.incident.severity"
AI_INCIDENT_FAILURE_MODE: Final = "ai.incident.failure_mode"
AI_INCIDENT_SIGNALS: Final = "ai.incident.signals"
AI_INCIDENT_FEATURE: Final = "ai.incident.feature"
AI_INCIDENT_ACTION: Final = "ai.incident.action"
AI_INCIDENT_STATUS: Final = "ai.incident.status"
AI_INCIDENT_SUMMARY: Final = "ai.incident.summary"
AI_INCIDENT_COUNT: Final = "ai.incident.count"
AI_INCIDENT_VERSION: Final = "ai.incident.version"
"""Grows with every change of the incident: (id, version) names one change."""
AI_INCIDENT_USERS: Final = "ai.incident.users"
AI_INCIDENT_MODEL_BEFORE: Final = "ai.incident.model_before"
AI_INCIDENT_MODEL_AFTER: Final = "ai.incident.model_after"

# Containment applied to a call (on its span).
AI_CONTAINMENT_ACTION: Final = "ai.containment.action"
AI_CONTAINMENT_INCIDENT_ID: Final = "ai.containment.incident_id"
AI_CONTAINMENT_SCOPE: Final = "ai.containment.scope"
AI_CONTAINMENT_MODEL_FROM: Final = "ai.containment.model_from"
AI_CONTAINMENT_MODEL_TO: Final = "ai.containment.model_to"
AI_CONTAINMENT_REVIEW: Final = "ai.containment.review"

# Guardrails on the request path (on the span, and counted).
AI_GUARDRAIL_DECISION: Final = "ai.guardrail.decision"
"""``blocked`` (input guard), ``review`` (sent, answer queued for review), ``redacted``."""
AI_GUARDRAIL_SCORE: Final = "ai.guardrail.score"
AI_GUARDRAIL_REDACTIONS: Final = "ai.guardrail.redactions"
"""How many secrets and pieces of personal data the output filter masked (never the values)."""
AI_GUARDRAIL_REDACTED: Final = "ai.guardrail.redacted"
"""The kinds masked (``email``, ``openai_key``, ...)."""
AI_GUARDRAIL_KIND: Final = "ai.guardrail.kind"
AI_GUARDRAIL_DECISIONS_METRIC: Final = "ai_incidents.guardrail.decisions"

# Our metrics.
AI_CAPTURE_ERRORS_METRIC: Final = "ai_incidents.capture.errors"
AI_INCIDENTS_METRIC: Final = "ai.incidents"
AI_EVALUATION_SCORE_METRIC: Final = "ai.evaluation.score"
AI_DRIFT_PSI_METRIC: Final = "ai.drift.psi"
AI_DRIFT_KS_METRIC: Final = "ai.drift.ks"
AI_DRIFT_JS_METRIC: Final = "ai.drift.js_distance"
AI_DRIFT_WASSERSTEIN_METRIC: Final = "ai.drift.wasserstein"
AI_DRIFT_METRIC_NAME: Final = "ai.drift.metric"
AI_EVALUATION_ASPECT: Final = "ai.evaluation.aspect"
AI_INCIDENTS_GAPS_METRIC: Final = "ai_incidents.detection.gaps"
"""Observations, candidates or evaluations ai-incidents could not use, by reason: where it
is blind."""
AI_INCIDENTS_GAP_REASON: Final = "ai_incidents.gap.reason"
AI_EVALUATOR_DEMOTED_METRIC: Final = "ai_incidents.evaluator.demoted"
AI_EVALUATOR_NAME: Final = "gen_ai.evaluation.name"
