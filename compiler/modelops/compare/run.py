"""One comparison: main against its shadow or canary on the predictions the collector stored, and the
model's `compare.gates` judged on it (what `modelops compare` prints and `rollout` gates on)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from modelops.compare import query, stats
from modelops.diagnostics import UserError
from modelops.markdown import inline, table

if TYPE_CHECKING:
    from modelops.compile.resolve import ResolvedModel, ResolvedVariant
    from modelops.compile.spec import Compare


@dataclass
class GateResult:
    gate: str
    threshold: float
    value: float | None
    passed: bool | None  # None: not enough pairs (or labels) to tell
    needs: int = 0  # the live gate: labelled answers each variant needs


@dataclass
class Comparison:
    model: str
    env: str
    main: str
    trial: str
    task: str
    responses: dict[str, int] = field(default_factory=dict)  # variant -> responses in the window
    unpaired: dict[str, int] = field(default_factory=dict)  # variant -> responses with no request id
    pairs: int = 0
    min_pairs: int = 0
    statistics: dict[str, Any] = field(default_factory=dict)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)  # variant -> p50, p95, p99
    # variant -> its answers with a known true answer: labelled, accuracy, mae, rmse
    truth: dict[str, dict[str, float | None]] = field(default_factory=dict)
    gates: list[GateResult] = field(default_factory=list)
    sql: str = ""

    @property
    def verdict(self) -> str:
        """pass, hold (too few pairs, or too few labels for the live gate) or fail."""
        if self.pairs < self.min_pairs:
            return "hold"
        if any(g.passed is False for g in self.gates):
            return "fail"
        return "hold" if any(g.gate == "live" and g.passed is None for g in self.gates) else "pass"

    def reason(self) -> str:
        if self.verdict == "hold" and self.pairs < self.min_pairs:
            return f"predictions: {self.pairs} paired of {self.min_pairs} needed"
        if self.verdict == "hold":
            live = next(g for g in self.gates if g.gate == "live")
            least = min(int(self.truth.get(v, {}).get("labelled") or 0) for v in (self.main, self.trial))
            return f"predictions: {least} labelled answers of {live.needs} needed for the live gate"
        failed = [g for g in self.gates if g.passed is False]
        if failed:
            return "predictions: " + "; ".join(_gate_text(g) for g in failed)
        return f"predictions: {self.pairs} pairs, gates met"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict, "reason": self.reason()}


MARKS = {True: "pass", False: "FAIL", None: "no data"}


def gate_row(gate: GateResult) -> dict[str, Any]:
    """A prediction gate as rollout's decisions list their gates."""
    return {"gate": f"predictions: {gate.gate}", "result": MARKS[gate.passed], "detail": _gate_text(gate)}


def _gate_text(gate: GateResult) -> str:
    shown = "no data" if gate.value is None else f"{gate.value:.4g}"
    if gate.gate == "live":
        return f"live gain over main {shown}, needs >= {gate.threshold:g}"
    relation = ">=" if gate.gate in ("agreement", "within") else "<="
    return f"{gate.gate} {shown}, needs {relation} {gate.threshold:g}"


def store_uri(model: ResolvedModel) -> str:
    """The URI of the store the model's predictions go to in its environment (MO803 when none)."""
    store = (model.settings.get("logging") or {}).get("store")
    if not store or store not in model.stores:
        raise UserError([model.doc.diagnostic(("name",), "MO803", f"{model.spec.name} stores no "
                                              f"predictions in {model.env}: set logging.store")])
    return model.stores[store].uri


def compare(model: ResolvedModel, trial: ResolvedVariant, since_seconds: float,
            uri: str | None = None) -> Comparison:
    """Pair main's and the trial's stored answers in the window and judge the gates."""
    spec = _spec(model)
    uri = uri or store_uri(model)
    window = query.Window(model.spec.name, model.main.name, trial.name, model.env, since_seconds,
                          int(spec.output[len("outputs["):-1]))
    connection = query.connect(uri, model.spec.name)
    result = Comparison(model.spec.name, model.env, model.main.name, trial.name, spec.task,
                        min_pairs=spec.min_pairs, sql=query.portable_sql(uri, window))
    for variant, responses, with_id in connection.execute(query.counts_sql(window)).fetchall():
        result.responses[variant] = int(responses)
        result.unpaired[variant] = int(responses) - int(with_id)
    connection.execute(query.pairs_table_sql(window))
    result.pairs = int(connection.execute(query.COUNT_SQL).fetchone()[0])
    result.statistics = _statistics(spec, connection)
    for variant, quantiles in connection.execute(query.latency_sql(window)).fetchall():
        result.latency_ms[variant] = [round(float(q), 3) for q in quantiles]
    for variant, labelled, accuracy, mae, rmse in connection.execute(query.truth_sql(window)).fetchall():
        result.truth[variant] = {"labelled": int(labelled), "accuracy": _number(accuracy),
                                 "mae": _number(mae), "rmse": _number(rmse)}
    result.gates = judge(spec, result.statistics)
    if spec.gates.live is not None:
        result.gates.append(live_gate(spec, result))
    return result


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def live_gate(spec: Compare, comparison: Comparison) -> GateResult:
    """The trial's gain over main on labelled traffic: accuracy points, or RMSE main minus trial;
    no verdict until both variants have `min_labels` labelled answers."""
    live = spec.gates.live
    assert live is not None
    metric = "accuracy" if spec.task == "classification" else "rmse"
    main, trial = (comparison.truth.get(v, {}) for v in (comparison.main, comparison.trial))
    enough = min(int(main.get("labelled") or 0), int(trial.get("labelled") or 0)) >= live.min_labels
    a, b = main.get(metric), trial.get(metric)
    if not enough or a is None or b is None:
        return GateResult("live", live.margin, None, None, live.min_labels)
    gain = b - a if metric == "accuracy" else a - b
    return GateResult("live", live.margin, gain, gain >= live.margin or math.isclose(gain, live.margin),
                      live.min_labels)


def _spec(model: ResolvedModel) -> Compare:
    if model.spec.compare is None:
        raise UserError([model.doc.diagnostic(("name",), "MO803", f"{model.spec.name} has no `compare:` "
                                              "block: say the task (classification or regression)")])
    return model.spec.compare


def _statistics(spec: Compare, connection: Any) -> dict[str, Any]:
    """The statistics over the pairs table: values as numpy arrays, classes counted in DuckDB
    (millions of pairs never become Python objects)."""
    values = connection.execute(query.VALUES_SQL).fetchnumpy()
    main_values, trial_values = values["main_value"], values["trial_value"]
    found: dict[str, Any] = stats.distances(main_values, trial_values)
    if spec.task == "classification":
        flips = connection.execute(query.FLIPS_SQL).fetchall()
        found.update(stats.classification([(str(a), str(b), int(n)) for a, b, n in flips]))
    else:
        tolerance = spec.gates.within.tolerance if spec.gates.within else None
        found.update(stats.regression(main_values, trial_values, tolerance))
        found["histograms"] = stats.histograms(main_values, trial_values)
    return found


def judge(spec: Compare, found: dict[str, Any]) -> list[GateResult]:
    """Each gate the model sets, on the statistics (at least for agreement and within, at most else)."""
    gates = spec.gates
    results = []
    for name, threshold, at_least in (("agreement", gates.agreement, True), ("psi", gates.psi, False),
                                      ("mae", gates.mae, False), ("bias", gates.bias, False)):
        if threshold is None:
            continue
        value = found.get(name)
        if name == "bias" and value is not None:
            value = abs(value)
        results.append(GateResult(name, threshold, value, _passes(value, threshold, at_least)))
    if gates.within is not None:
        value = found.get("within")
        results.append(GateResult("within", gates.within.share, value,
                                  _passes(value, gates.within.share, True)))
    return results


def _passes(value: float | None, threshold: float, at_least: bool) -> bool | None:
    if value is None:
        return None
    return value >= threshold if at_least else value <= threshold


# --- the report ---------------------------------------------------------------------------------

def rows(comparison: Comparison) -> list[tuple[str, str]]:
    """(what, value) lines of the comparison, in the order a reviewer reads them."""
    c = comparison
    found = [("pairs", f"{c.pairs} (needs {c.min_pairs})")]
    for variant in (c.main, c.trial):
        found.append((f"responses {variant}", f"{c.responses.get(variant, 0)} "
                      f"({c.unpaired.get(variant, 0)} without a request id: cannot pair)"))
    keys = (("agreement", "kappa") if c.task == "classification"
            else ("mae", "rmse", "bias", "pearson", "spearman", "within"))
    for key in (*keys, "psi", "jensen_shannon", "wasserstein"):
        value = c.statistics.get(key)
        found.append((key, "—" if value is None else f"{value:.4g}"))
    for variant in (c.main, c.trial):
        truth = c.truth.get(variant)
        if truth:
            scored = (f"accuracy {truth['accuracy']:.4g}" if c.task == "classification"
                      else f"MAE {truth['mae']:.4g}, RMSE {truth['rmse']:.4g}")
            found.append((f"live {variant}", f"{scored} on {int(truth['labelled'] or 0)} labelled answers"))
    for variant in (c.main, c.trial):
        if variant in c.latency_ms:
            shown = "/".join(f"{q:g}" for q in c.latency_ms[variant])
            found.append((f"latency {variant} p50/p95/p99 ms", shown))
    for gate in c.gates:
        found.append((f"gate {gate.gate}", f"{MARKS[gate.passed]}: {_gate_text(gate)}"))
    found.append(("verdict", c.reason()))
    return found


def markdown(comparison: Comparison) -> str:
    """The comparison as a Markdown table (pull request bodies, `-o markdown`)."""
    c = comparison
    trial, main = inline(c.trial), inline(c.main)
    lines = [f"**Predictions: {trial} against {main}** ({inline(c.task)})", ""]
    lines += table([("", ""), *rows(comparison)])
    if c.task == "classification" and c.statistics.get("flips"):
        lines += ["", f"Flip matrix (rows {main}, columns {trial}):", ""]
        classes = sorted({k for row in c.statistics["flips"].values() for k in row}
                         | set(c.statistics["flips"]))
        flips = [(a, *(c.statistics["flips"].get(a, {}).get(b, 0) for b in classes)) for a in classes]
        lines += table([("", *classes), *flips])
    return "\n".join(lines) + "\n"


def for_model(models: list[ResolvedModel], name: str, env: str, trial: str | None,
              since_seconds: float, uri: str | None = None) -> Comparison:
    """Compare the model `name` in `env` (its one shadow or canary, or `trial`) over the window."""
    from modelops.diagnostics import Diagnostic

    found = [m for m in models if m.spec.name == name and m.env == env]
    if not found:
        raise UserError([Diagnostic("modelops.yaml", 1, 1, "MO803",
                                    f"no model {name!r} deploys to environment {env!r}")])
    model = found[0]
    others = [v for v in model.variants if v is not model.main and (trial is None or v.name == trial)]
    if len(others) != 1:
        names = ", ".join(v.name for v in model.variants if v is not model.main) or "none"
        raise UserError([model.doc.diagnostic(("name",), "MO803", f"{name} in {env} needs one trial "
                                              f"variant beside {model.main.name} to compare (trials: "
                                              f"{names}; choose with --trial)")])
    return compare(model, others[0], since_seconds, uri)
