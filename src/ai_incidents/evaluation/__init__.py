"""Evaluation: quality, safety and retrieval checks on each interaction, in-process and offline."""

from ai_incidents.evaluation.base import EvaluationResult, Evaluator
from ai_incidents.evaluation.runner import evaluate_interaction, evaluators

__all__ = ["EvaluationResult", "Evaluator", "evaluate_interaction", "evaluators"]
