"""Slow evaluators off the request path: the LLM judge against a local judge server."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from ai_incidents import EvaluationResult, configure, evaluators
from ai_incidents.capture.interaction import Interaction
from ai_incidents.evaluation.runner import slow_runner
from ai_incidents.testing import Reply

JUDGE_MODEL = "judge-1"


def grade(score: float, label: str = "ungrounded") -> str:
    return json.dumps({"score": score, "label": label, "explanation": "not in the documents"})


def ask(server, question: str = "What is the refund window?") -> None:
    with httpx.Client(base_url=server.url) as client:
        client.post(
            "/v1/chat/completions",
            json={"model": "app-model", "messages": [{"role": "user", "content": question}]},
        )


def judge_events(telemetry) -> list:
    return [
        r.log_record
        for r in telemetry.log_exporter.get_finished_logs()
        if r.log_record.event_name == "gen_ai.evaluation.result"
    ]


def use_judge(server, **settings) -> None:
    configure(
        judge_url=server.openai_base_url,
        judge_model=JUDGE_MODEL,
        judge_sample_rate=1.0,
        **settings,
    )


def test_judge_result_arrives_as_event_parented_to_the_span(server, telemetry):
    def responder(api, body):
        if body["model"] == JUDGE_MODEL:
            assert body["response_format"] == {"type": "json_object"}
            return Reply(text=grade(0.2))
        return Reply(text="Refunds are possible for 90 days.")

    server.responder = responder
    use_judge(server)
    received = []
    ask(server)
    runner = slow_runner()
    runner.add_listener(lambda interaction, result: received.append(result))
    assert runner.wait_idle(timeout_s=30)

    (event,) = judge_events(telemetry)
    llm_span = telemetry.only_llm_span()
    assert event.attributes["gen_ai.evaluation.name"] == "llm_judge"
    assert event.attributes["gen_ai.evaluation.score.value"] == 0.2
    assert event.attributes["gen_ai.evaluation.score.label"] == "ungrounded"
    assert event.span_id == llm_span.context.span_id
    assert event.trace_id == llm_span.context.trace_id
    assert [model for _, body in server.requests for model in [body["model"]]].count(
        JUDGE_MODEL
    ) == 1


def test_result_listeners_receive_judge_results(server, telemetry):
    server.responder = lambda api, body: Reply(
        text=grade(0.9, "good") if body["model"] == JUDGE_MODEL else "An answer."
    )
    use_judge(server)
    received: list[EvaluationResult] = []
    slow_runner().add_listener(lambda interaction, result: received.append(result))
    ask(server)
    assert slow_runner().wait_idle(timeout_s=30)

    assert [(r.name, r.score, r.flag) for r in received] == [("llm_judge", 0.9, None)]


def test_budget_per_minute_drops_excess_work(server, telemetry):
    server.responder = lambda api, body: Reply(text=grade(0.5, "ok"))
    use_judge(server, judge_budget_per_minute=1)
    for _ in range(3):
        ask(server)
    runner = slow_runner()
    assert runner.wait_idle(timeout_s=30)

    assert runner.completed == 1
    assert runner.dropped_over_budget == 2


def test_broken_judge_is_an_error_result_not_an_app_error(server, telemetry):
    server.responder = lambda api, body: (
        Reply(text="I think it is fine") if body["model"] == JUDGE_MODEL else Reply(text="Hi.")
    )
    use_judge(server)
    ask(server)
    assert slow_runner().wait_idle(timeout_s=30)

    (event,) = judge_events(telemetry)
    assert event.attributes["gen_ai.evaluation.score.label"] == "error"
    assert event.attributes["gen_ai.evaluation.explanation"] == "JudgeError"


def test_sampling_skips_unsampled_traces(server, telemetry):
    server.responder = lambda api, body: Reply(text=grade(0.5, "ok"))
    use_judge(server)
    configure(judge_sample_rate=0.0)
    ask(server)

    assert slow_runner().wait_idle(timeout_s=30)
    assert judge_events(telemetry) == []


def test_fast_evaluator_over_budget_is_moved_off_the_request_path(server, telemetry):
    class Sluggish:
        name, aspect, cost, reads = "sluggish", "quality", "fast", ("output",)

        def evaluate(self, interaction: Interaction) -> EvaluationResult:
            burn_cpu(0.005)
            return EvaluationResult(self.name, "quality", 1.0, "ok")

    configure(evaluator_budget_ms=1, judge_sample_rate=1.0, evaluation_events="all")
    evaluators.register(Sluggish())
    try:
        for _ in range(5):  # the first call warms up and does not count
            ask(server)
        assert "sluggish" in evaluators.demoted
        assert evaluators.demotions >= 1
        assert slow_runner().wait_idle(timeout_s=30)
        names_on_spans = [
            {e.attributes["gen_ai.evaluation.name"] for e in span.events}
            for span in telemetry.llm_spans()
        ]
        later = [e.attributes["gen_ai.evaluation.name"] for e in judge_events(telemetry)]
    finally:
        evaluators.unregister("sluggish")

    assert all("sluggish" in names for names in names_on_spans[:4])
    assert "sluggish" not in names_on_spans[4]
    assert later == ["sluggish"]


def burn_cpu(seconds: float) -> None:
    """Use the CPU (not sleep) for ``seconds`` of this thread's time."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_waiting_is_not_an_overrun_and_a_demotion_ends(server, telemetry, monkeypatch):
    class Waiting:
        name, aspect, cost, reads = "waiting", "quality", "fast", ("output",)

        def evaluate(self, interaction: Interaction) -> EvaluationResult:
            time.sleep(0.01)  # wall time spent off the CPU, as a GIL wait or I/O would be
            return EvaluationResult(self.name, "quality", 1.0, "ok")

    configure(evaluator_budget_ms=1)
    evaluators.register(Waiting())
    try:
        for _ in range(6):
            ask(server)
        assert "waiting" not in evaluators.demoted
        evaluators._demoted_until["waiting"] = time.monotonic() - 1  # a demotion that ran out
        assert "waiting" not in evaluators.demoted
        assert "waiting" in {e.name for e in evaluators.fast()}
    finally:
        evaluators.unregister("waiting")


@pytest.mark.parametrize("rate", [-1, "x"])
def test_bad_settings_fall_back(rate):
    from ai_incidents.config import Settings

    settings = Settings.from_env({"AI_INCIDENTS_JUDGE_SAMPLE_RATE": str(rate)})
    assert settings.judge_sample_rate == Settings.judge_sample_rate


def test_hung_slow_evaluator_times_out_and_is_dropped(server, telemetry):
    import threading

    release = threading.Event()

    class Hanging:
        name, aspect, cost, reads = "hanging", "quality", "slow", ("output",)

        def evaluate(self, interaction: Interaction) -> EvaluationResult:
            release.wait(30)
            return EvaluationResult(self.name, "quality", 1.0, "ok")

    configure(judge_sample_rate=1.0, judge_timeout_s=0.2)
    evaluators.register(Hanging())
    try:
        for _ in range(3):
            ask(server)
        runner = slow_runner()
        assert runner.wait_idle(timeout_s=30)
        ask(server)
        assert runner.wait_idle(timeout_s=30)
        labels = [e.attributes["gen_ai.evaluation.explanation"] for e in judge_events(telemetry)]
    finally:
        release.set()
        evaluators.unregister("hanging")

    assert labels == ["timeout", "timeout", "timeout"]
    assert runner.hung["hanging"] == 3


def test_huge_answers_are_read_in_part_not_a_reason_to_demote(server, telemetry):
    prose = "The refund window is thirty days from delivery of the order. " * 50_000
    answer = f"Write to jane@example.org. {prose}"  # about 3 MB
    server.responder = lambda api, body: Reply(text=answer)
    for _ in range(4):
        ask(server)

    assert not evaluators.demoted
    assert all("pii" in span.attributes["ai.safety.categories"] for span in telemetry.llm_spans())
