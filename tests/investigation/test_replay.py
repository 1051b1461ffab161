"""`ai-incidents replay`: spans the real pipeline exported, written as the collector's OTLP
JSON lines (opentelemetry-proto's json_format) and as the SDK's span JSON, run through
detection offline; labels scored; recorded content judged again."""

from __future__ import annotations

import json

from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

import ai_incidents
from ai_incidents import semconv
from ai_incidents.cli import main as cli
from ai_incidents.evaluation.base import EvaluationResult
from tests.investigation.conftest import degraded_incident


def write_otlp(spans, path, labels=None) -> None:
    """One ``{"resourceSpans": ...}`` line per span, as the collector's file exporter writes;
    ``labels`` maps span ids to an ``ai.label.failure_mode``."""
    with open(path, "w") as out:
        for span in spans:
            request = encode_spans([span])
            label = (labels or {}).get(span.context.span_id)
            if label is not None:
                request.resource_spans[0].scope_spans[0].spans[0].attributes.append(
                    KeyValue(key=semconv.AI_LABEL_FAILURE_MODE, value=AnyValue(string_value=label))
                )
            out.write(MessageToJson(request, indent=None) + "\n")


def test_replay_finds_the_incident_the_live_pipeline_raised_and_scores_the_labels(
    incidents, client, server, telemetry, tmp_path, capsys
):
    live = degraded_incident(incidents, client, server)
    spans = telemetry.span_exporter.get_finished_spans()
    llm = telemetry.llm_spans()
    labels = {s.context.span_id: "none" if i < 40 else "quality_degradation"
              for i, s in enumerate(llm)}  # fmt: skip
    path = tmp_path / "spans.jsonl"
    write_otlp(spans, path, labels)
    stored = len(incidents.store.list())

    assert cli(["replay", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["llm_spans"] == len(llm) == 70
    # The same detection: the incidents the live pipeline stored, grouped the same way.
    replayed = sorted((i["group_key"], i["count"]) for i in report["incidents"])
    assert replayed == sorted((i.group_key, i.count) for i in incidents.store.list())
    assert live.group_key in dict(replayed)
    score = report["scores"]["quality_degradation"]
    assert score["episodes"] == 1 and score["recall"] == 1.0 and score["precision"] == 1.0
    assert 0 <= score["median_time_to_detect_s"] < 5
    assert len(incidents.store.list()) == stored  # the live store is not touched

    assert cli(["replay", str(path)]) == 0
    text = capsys.readouterr().out
    # As many as the live pipeline stored: 3, or 4 when latency noise on a loaded machine
    # adds an anomaly to a weak answer (a request-level incident of its own).
    assert "70 LLM calls" in text and f"{stored} incidents" in text and "100%" in text


def test_replay_reads_the_sdk_span_json(incidents, client, server, telemetry, tmp_path, capsys):
    degraded_incident(incidents, client, server, content=False)
    path = tmp_path / "console.json"
    path.write_text(
        "".join(s.to_json() + "\n" for s in telemetry.span_exporter.get_finished_spans())
    )

    assert cli(["replay", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["llm_spans"] == 70
    assert any(i["failure_mode"] == "quality_degradation" for i in report["incidents"])


class MentionsSettings:
    """A changed evaluator: an answer that sends users to Settings is now a weak one."""

    name, aspect, cost, reads = "no_settings", "quality", "fast", ("output",)

    def evaluate(self, interaction):
        if "Settings" in interaction.output_text:
            return EvaluationResult(self.name, "quality", 0.0, "fail", "mentions_settings")
        return EvaluationResult(self.name, "quality", 1.0, "pass")


def test_reevaluate_judges_recorded_content_with_the_evaluators_in_force(
    incidents, client, server, telemetry, tmp_path, capsys
):
    degraded_incident(incidents, client, server)
    path = tmp_path / "spans.jsonl"
    write_otlp(telemetry.llm_spans()[:40], path)  # the good answers only

    assert cli(["replay", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["incidents"] == []
    ai_incidents.evaluators.register(MentionsSettings())
    try:
        assert cli(["replay", str(path), "--json", "--reevaluate"]) == 0
    finally:
        ai_incidents.evaluators.unregister("no_settings")
    report = json.loads(capsys.readouterr().out)
    assert report["reevaluated"] == 40
    assert any(i["failure_mode"] == "quality_degradation" for i in report["incidents"])
