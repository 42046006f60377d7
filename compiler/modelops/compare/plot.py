"""`modelops compare --plot FILE.png`: the comparison as a picture, drawn with matplotlib.

Left, both variants' outputs overlaid (classes side by side for a classification, the histograms of
a regression); right, the flip matrix (classification) or the joint histogram of main's and the
trial's answers to the same requests (regression), where agreement is the diagonal.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.diagnostics import Diagnostic, UserError

if TYPE_CHECKING:
    from modelops.compare.run import Comparison

MAIN_COLOUR, TRIAL_COLOUR = "#1f77b4", "#ff7f0e"


def plot(comparison: Comparison, path: Path) -> None:
    """Draw `comparison` into the PNG file `path` (replaced whole, never half-written)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), dpi=100)
    c = comparison
    if c.task == "classification":
        _classes(left, right, c)
    else:
        _values(left, right, c)
    figure.suptitle(f"{c.model} in {c.env}: {c.trial} against {c.main}, {c.pairs} pairs; {c.reason()}",
                    fontsize=10)
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def _classes(left: Any, right: Any, c: Comparison) -> None:
    flips: dict[str, dict[str, int]] = c.statistics.get("flips") or {}
    classes = sorted({*flips, *(b for row in flips.values() for b in row)})
    main = [sum(flips.get(a, {}).values()) for a in classes]
    trial = [sum(row.get(a, 0) for row in flips.values()) for a in classes]
    positions = range(len(classes))
    left.bar([p - 0.2 for p in positions], main, width=0.4, label=c.main, color=MAIN_COLOUR)
    left.bar([p + 0.2 for p in positions], trial, width=0.4, label=c.trial, color=TRIAL_COLOUR)
    left.set_xticks(list(positions), classes)
    left.set(title="Predicted classes", xlabel="class", ylabel="paired responses")
    left.legend(loc="lower right", framealpha=0.9)
    matrix = [[flips.get(a, {}).get(b, 0) for b in classes] for a in classes]
    image = right.imshow(matrix or [[0]], cmap="Blues")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            right.text(j, i, str(count), ha="center", va="center", fontsize=8,
                       color="white" if count > max(map(max, matrix)) / 2 else "black")
    right.set_xticks(list(positions), classes)
    right.set_yticks(list(positions), classes)
    agreement = c.statistics.get("agreement")
    shown = "no pairs" if agreement is None else f"agreement {agreement:.3f}"
    right.set(title=f"Flip matrix ({shown})", xlabel=f"{c.trial} class", ylabel=f"{c.main} class")
    right.figure.colorbar(image, ax=right, label="pairs")


def _values(left: Any, right: Any, c: Comparison) -> None:
    found = c.statistics.get("histograms") or {}
    edges = found.get("edges") or [0.0, 1.0]
    for variant, counts, colour in ((c.main, found.get("main"), MAIN_COLOUR),
                                    (c.trial, found.get("trial"), TRIAL_COLOUR)):
        left.stairs(counts or [0] * (len(edges) - 1), edges, label=variant, color=colour, linewidth=2)
    left.set(title="Outputs", xlabel="output", ylabel="paired responses")
    left.legend()
    joint = found.get("joint") or [[0]]
    image = right.imshow([list(col) for col in zip(*joint, strict=True)], origin="lower", cmap="Blues",
                         extent=(edges[0], edges[-1], edges[0], edges[-1]), aspect="auto")
    right.plot([edges[0], edges[-1]], [edges[0], edges[-1]], color="grey", linewidth=1, linestyle="--")
    mae = c.statistics.get("mae")
    right.set(title="Same request, both answers" + ("" if mae is None else f" (MAE {mae:.4g})"),
              xlabel=f"{c.main} output", ylabel=f"{c.trial} output")
    right.figure.colorbar(image, ax=right, label="pairs")


def _save(figure: Any, path: Path) -> None:
    """Write the PNG beside `path` and rename it into place; a refused write is MO014."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "wb") as stream:
                figure.savefig(stream, format="png", metadata={"Software": None})
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise UserError([Diagnostic(str(path), 1, 1, "MO014", f"cannot write the plot: "
                                    f"{exc.strerror or exc}")]) from None
