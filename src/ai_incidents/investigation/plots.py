"""The postmortem's plots, as PNG data URIs: scores and signal counts over time with the
incident window and containment marked, drift statistics, the model and prompt timeline.

matplotlib (extra ``investigation``) is imported only here, when a plot is drawn, with the
``Agg`` backend: installing or importing the package never needs it.
"""

from __future__ import annotations

import base64
import datetime
import io
from typing import Any

from ai_incidents.investigation.calls import CALL_SIGNALS, signals_of
from ai_incidents.investigation.changes import FIELDS, age
from ai_incidents.investigation.investigate import SIGNAL_NAMES, Investigation

_BUCKETS = 40
"""Signal counts are drawn in this many buckets over the window."""
_LEGEND_ENTRIES = 10
_DRIFT_STATISTICS = ("psi", "js_distance", "ks", "wasserstein")


def plots(found: Investigation) -> dict[str, str]:
    """Title -> ``data:image/png;base64,...``, for the plots the evidence allows."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    drawn = {}
    calls = found.window.calls
    if calls:
        drawn["Quality and safety scores"] = _draw(pyplot, found, _scores)
        drawn["Signals over time"] = _draw(pyplot, found, _signals)
        drawn["Model and prompt timeline"] = _draw(pyplot, found, _models)
    evidence = found.incident.evidence
    if "histogram_before" in evidence or all(s in evidence for s in _DRIFT_STATISTICS):
        drawn["Drift statistics"] = _draw(pyplot, found, _drift)
    return drawn


def _draw(pyplot: Any, found: Investigation, draw: Any) -> str:
    figure, axes = pyplot.subplots(figsize=(9, 3.2), dpi=90)
    try:
        draw(axes, found)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        pyplot.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _when(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)


def _mark(axes: Any, found: Investigation) -> None:
    """The incident window (onset to last seen) and containment actions (start, end)."""
    incident = found.incident
    axes.axvspan(
        _when(found.window.onset),
        _when(max(incident.last_seen, found.window.onset)),
        color="tab:red",
        alpha=0.12,
        label="incident",
    )
    axes.axvline(_when(incident.first_seen), color="tab:red", linewidth=1, label="detected")
    for action in found.containment:
        axes.axvline(
            _when(action.started),
            color="tab:purple",
            linestyle="--",
            linewidth=1,
            label=f"containment: {_label(action.action)}",
        )
        if action.ended is not None:
            axes.axvline(
                _when(action.ended),
                color="tab:green",
                linestyle=":",
                linewidth=1,
                label="containment ended",
            )
    axes.set_xlabel("time (UTC)")


def _legend(axes: Any) -> None:
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(list(zip(labels, handles, strict=True))[:_LEGEND_ENTRIES])
    axes.legend(unique.values(), unique.keys(), fontsize=7, loc="upper left")


def _label(name: object) -> str:
    """A name from the app as a label: its ``$`` would start matplotlib's mathtext."""
    return str(name).replace("$", r"\$")


def _scores(axes: Any, found: Investigation) -> None:
    calls = found.window.calls
    for name, value_of, color in (
        ("quality", lambda c: c.quality, "tab:blue"),
        ("safety risk", lambda c: c.safety, "tab:orange"),
    ):
        points = [(_when(c.at), value_of(c)) for c in calls if value_of(c) is not None]
        if points:
            axes.plot(*zip(*points, strict=True), ".", markersize=3, color=color, label=name)
    axes.set_ylim(-0.05, 1.05)
    axes.set_ylabel("score")
    _mark(axes, found)
    _legend(axes)


def _signals(axes: Any, found: Investigation) -> None:
    calls = found.window.calls
    start, end = calls[0].at, calls[-1].at
    width = max((end - start) / _BUCKETS, 0.001)
    edges = [start + i * width for i in range(int((end - start) / width) + 2)]
    for signal in CALL_SIGNALS:
        counts = [0] * len(edges)
        for call in calls:
            if signal in signals_of(call, found.window.threshold):
                counts[int((call.at - start) / width)] += 1
        if any(counts):
            axes.step([_when(e) for e in edges], counts, where="post", label=SIGNAL_NAMES[signal])
    axes.set_ylabel(f"calls per {age(width)}")
    _mark(axes, found)
    _legend(axes)


def _models(axes: Any, found: Investigation) -> None:
    calls = found.window.calls
    for row, (what, value_of) in enumerate(FIELDS.items()):
        values = sorted({v for c in calls if (v := value_of(c)) is not None})
        for value in values:
            times = [_when(c.at) for c in calls if value_of(c) == value]
            axes.plot(
                times, [row] * len(times), "|", markersize=12, label=f"{what}: {_label(value)}"
            )
    axes.set_yticks(range(len(FIELDS)), list(FIELDS))
    axes.set_ylim(-0.5, len(FIELDS) - 0.5)
    _mark(axes, found)
    _legend(axes)


def _drift(axes: Any, found: Investigation) -> None:
    evidence = found.incident.evidence
    if "histogram_before" in evidence:
        before, after = evidence["histogram_before"], evidence["histogram_after"]
        centers = [(i + 0.5) / len(before) for i in range(len(before))]
        width = 0.4 / len(before)
        axes.bar(
            [x - width / 2 for x in centers],
            before,
            width,
            label=_label(evidence.get("model_before")),
        )
        axes.bar(
            [x + width / 2 for x in centers],
            after,
            width,
            label=_label(evidence.get("model_after")),
        )
        axes.set_xlabel("quality score")
        axes.set_ylabel("calls")
    else:
        values = [float(evidence[s]) for s in _DRIFT_STATISTICS]
        axes.bar(
            list(_DRIFT_STATISTICS), values, color="tab:blue", label=_label(evidence.get("metric"))
        )
        axes.axhline(0.25, color="tab:red", linestyle="--", linewidth=1, label="PSI 0.25")
        axes.set_ylabel("statistic")
    axes.legend(fontsize=7)
