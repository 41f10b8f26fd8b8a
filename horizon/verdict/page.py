"""A verdict as one Markdown page and its figure (accuracy against layer: the method beside random and the unpruned
line), written all or nothing, for a researcher to paste."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

from horizon.files import write_all_atomic
from horizon.methods import METHODS
from horizon.methods.plugins import method_source
from horizon.stats import ALPHA, MARGIN
from horizon.verdict.judge import Judged, finding, hybrid_finding


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _table(j: Judged) -> str:
    retained = {layer: (m, r) for layer, m, r in j.retained}
    rows = []
    for r in j.rows:
        p = r.versus
        diff = "–" if p is None else f"{p.difference:+.1f} ({p.low:+.1f} to {p.high:+.1f})"
        mark = "" if p is None or not p.significant else (" ▲" if p.difference > 0 else " ▼")
        info = retained.get(r.layer, (None, None))
        rows.append((r.layer, f"{r.method:.1f}", f"{r.random:.1f}", diff + mark, "–" if p is None else f"{p.p_value:.2g}",
                     "–" if p is None else f"{p.mde:.1f}", f"{_cell(info[0])} / {_cell(info[1])}"))  # fmt: skip
    headers = ["layer", "method", "random", "difference (95% CI)", "p", "detects ≥", "information retained (method / random)"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def render(judged: Sequence[Judged], method: str, figure: str, command: str) -> str:
    m = METHODS.get(method)
    first = judged[0].sweep
    lines = [
        f"# Is `{method}` better than random? The paper's test",
        "",
        f"`{command}`",
        "",
        f"Method `{method}` ({method_source(m)}; {m.reference}). Each model prunes to {first.keep:g} of its visual "
        f"tokens at one layer, the method against random at the same budget on the same samples (random: the mean "
        f"of its {len(first.random[min(first.random)].seeds)} seeds per sample). Paired tests: exact McNemar (a "
        f"randomization test where seeds average a sample), paired-bootstrap 95% intervals, p < {ALPHA:g}; "
        f"'detects ≥' is the smallest difference the comparison's n could detect at power 0.8 (--rows buys power).",
        "",
        "## Verdict",
        "",
    ]
    lines += [f"- {j.sweep.model} · {j.sweep.benchmark} (n = {j.sweep.n}): {finding(j, method)}" for j in judged]
    tests = sum(r.versus is not None for j in judged for r in j.rows)
    lines += ["", f"{tests} layer comparisons at p < {ALPHA:g}, not corrected for multiplicity: were the method random, "
              f"about {tests * ALPHA:.1f} of them would come out significant (either way) by chance; an isolated "
              "single-layer result deserves that caution, a run of layers less so."]  # fmt: skip
    lines += ["", f"![{method} against random, per layer]({figure})", ""]
    for j in judged:
        s = j.sweep
        lines += [f"## {s.model} · {s.benchmark}", "",
                  f"Unpruned: {s.full.metrics[j.metric]:.1f} % {j.metric} on {s.n} samples "
                  f"(this sweep took {s.seconds:.0f} s). {finding(j, method)}.", "", _table(j), ""]  # fmt: skip
        if j.retained:
            lines += [f"Information retained: the summed information (Eq. 4) of the tokens each keeps, on the first "
                      f"{s.study.n if s.study else 0} samples; random's is its expectation over one draw.", ""]  # fmt: skip
        if s.hybrid:
            lines += ["The paper's hybrid at an equal visual-token budget (216 token-layers after layer 2): "
                      f"`{s.hybrid['+random'].schedule}`", "",
                      f"- against the method alone (`{s.hybrid['alone'].schedule}`): "
                      f"{hybrid_finding(j.hybrid_vs_alone, 'the method alone')}",
                      f"- against the method then every token withdrawn (`{s.hybrid['+vtw'].schedule}`): "
                      f"{hybrid_finding(j.hybrid_vs_withdraw, 'withdraw-all')}", ""]  # fmt: skip
    lines += [f"A comparison is called the same only where it could detect {MARGIN:g} points; otherwise inconclusive.",
              ""]  # fmt: skip
    return "\n".join(lines)


def plot(judged: Sequence[Judged], method: str) -> bytes:
    """Accuracy against layer per model and benchmark: the method, random (its seeds' mean) and the unpruned line
    (a PNG)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(judged), figsize=(4.2 * len(judged), 3.4), squeeze=False)
    for ax, j in zip(axes[0], judged, strict=True):
        layers = [r.layer for r in j.rows]
        ax.plot(layers, [r.method for r in j.rows], "o-", label=f"{method} (judged)")
        ax.plot(layers, [r.random for r in j.rows], "s--", label="random (baseline, mean of its seeds)")
        ax.axhline(j.sweep.full.metrics[j.metric], color="grey", linestyle=":", label="unpruned")
        for layer in j.ahead:
            ax.annotate("▲", (layer, next(r.method for r in j.rows if r.layer == layer)), ha="center", va="bottom")
        ax.set_title(f"{j.sweep.model} · {j.sweep.benchmark}", fontsize=9)
        ax.set_xlabel("pruning layer")
        ax.set_ylabel(f"{j.metric} (%)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def write_page(judged: Sequence[Judged], method: str, out: Path, command: str) -> tuple[Path, Path]:
    """``out``/verdict-<method>.md and .png, both or neither."""
    figure = out / f"verdict-{method}.png"
    page = out / f"verdict-{method}.md"
    write_all_atomic({figure: plot(judged, method), page: render(judged, method, figure.name, command)})
    return page, figure
