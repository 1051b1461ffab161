"""``IncidentLogExporter``: the SDK's log exporters, made to keep ``ai.incident`` log events
through an outage.

The SDK's batch log processor drops a batch its exporter could not send. Wrapped, the
incident log events of a failed batch are kept (up to ``max_kept``, the oldest dropped first
and counted) and sent again with the next batch, once each: after a collector outage every
incident's log event arrives, and none twice.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)

from ai_incidents import semconv

_logger = logging.getLogger(__name__)
_DEFAULT_MAX_KEPT = 10_000


class IncidentLogExporter(LogRecordExporter):
    """Wraps ``exporter``; incident log events of failed exports are sent again."""

    def __init__(self, exporter: LogRecordExporter, max_kept: int = _DEFAULT_MAX_KEPT) -> None:
        self.exporter = exporter
        self.dropped = 0
        """Incident log events dropped because too many were waiting."""
        self._kept: collections.deque[Any] = collections.deque(maxlen=max_kept)
        self._lock = threading.Lock()

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        with self._lock:
            waiting = list(self._kept)
            self._kept.clear()
        result = self.exporter.export([*waiting, *batch] if waiting else batch)
        if result is not LogRecordExportResult.SUCCESS:
            failed = [*waiting, *(r for r in batch if _is_incident(r))]
            with self._lock:
                limit = self._kept.maxlen or 0
                self.dropped += max(len(self._kept) + len(failed) - limit, 0)
                self._kept.extend(failed)
        return result

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


def _is_incident(record: Any) -> bool:
    log_record = getattr(record, "log_record", record)
    return getattr(log_record, "event_name", None) == semconv.AI_INCIDENT


def wrap_log_exporters(provider: LoggerProvider) -> int:
    """Wrap the exporters of ``provider``'s batch and simple log processors; how many."""
    multi = getattr(provider, "_multi_log_record_processor", None)
    wrapped = 0
    for processor in getattr(multi, "_log_record_processors", ()):
        if isinstance(processor, BatchLogRecordProcessor):
            holder = processor._batch_processor
        elif isinstance(processor, SimpleLogRecordProcessor):
            holder = processor
        else:
            continue
        exporter = getattr(holder, "_exporter", None)
        if exporter is not None and not isinstance(exporter, IncidentLogExporter):
            holder._exporter = IncidentLogExporter(exporter)
            wrapped += 1
    return wrapped
