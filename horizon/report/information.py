"""Information studies as Markdown and PNG (the paper's Figures 5-9, 11, 12); rendering is pure, plotting
writes files. A study is :meth:`horizon.evaluation.study.Study.to_dict` (as JSON holds it: string keys)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from horizon.methods import METHODS
from horizon.report.figure import FigureSpec, markdown


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3g}"


def render_information(study: Mapping[str, Any], figures: Sequence[str | FigureSpec] = (), folder: str = "") -> str:
    """One Markdown section: horizons, per-layer statistics, retained information, accuracies, figures (a file name,
    or a figure with its caption; ``folder``: the figures' path from the page). A study rebuilt from a baseline lacks
    p(y), the rules' texts and the maps: the section says which numbers are not there."""
    s = study
    layers = list(s["layers"])
    rules = s.get("rules") or {}
    title = f"### Information: {s['model']} on {s['benchmark']} ({s['n']} samples)"
    lines = [title, ""]
    rule = f" ({rules['horizon']})" if "horizon" in rules else ""
    lines.append(f"- information horizon: **layer {s['horizon']}**{rule}" if s["horizon"] is not None
                 else f"- information horizon: not reached{rule}")  # fmt: skip
    if s.get("full") is not None and s["withdraw"]:
        wh = s["withdraw_horizon"]
        rule = f" ({rules['withdraw']})" if "withdraw" in rules else ""
        lines.append(f"- withdraw horizon: **{'layer ' + str(wh) if wh is not None else 'not reached'}**{rule}; "
                     f"unpruned {s['metric']} {s['full']:.2f}")  # fmt: skip
    if "removal" in rules:
        lines.append(f"- removal: {rules['removal']}; answer token: {rules['answer']}")
    if s.get("p_full") is not None:
        lines.append(f"- mean p(y) unpruned {s['p_full']:.4g}")
    absent = s.get("absent")
    if absent:
        lines.append(f"- not in the baselines: {absent}")
    if s.get("failures"):
        lines.append(f"- {len(s['failures'])} samples failed, first: {s['failures'][0]}")
    lines.append("")
    withdraw = {int(k): v for k, v in s["withdraw"].items()}
    mean, variance, p_text = (s.get(key) or [None] * len(layers) for key in ("mean", "variance", "p_text"))
    rows = []
    for k, layer in enumerate(layers):
        row = [layer, _fmt(mean[k]), _fmt(variance[k]), _fmt(p_text[k]), _fmt(withdraw.get(layer))]
        for _, per_layer in sorted(s["oracle"].items()):
            row.append(_fmt({int(a): b for a, b in per_layer.items()}.get(layer)))
        rows.append(row)
    headers = ["layer", "mean I", "var I", "p_text", f"withdraw-all {s['metric']}"]
    headers += [f"oracle keep {keep} {s['metric']}" for keep in sorted(s["oracle"])]
    lines += [tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]
    if s["retained"]:
        lines += ["Information retained by each method (mean over samples of Σ I over the kept tokens):", ""]
        rows = []
        for method, keeps in s["retained"].items():
            for keep, values in keeps.items():
                rows.append([method, keep, *(_fmt(v) for v in values)])
        lines += [tabulate(rows, headers=["method", "keep", *layers], tablefmt="github", disable_numparse=True), ""]
        note = merging_note(s["retained"])
        lines += [_beats_random(s), ""] + ([note, ""] if note else [])
    for figure in figures:
        lines += markdown(figure, folder) if isinstance(figure, FigureSpec) else [f"![{figure}]({folder}{figure})", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def merging_note(methods: Iterable[str]) -> str | None:
    """What the retained rows of methods that make new tokens count (None: no such method among ``methods``)."""
    merging = sorted(m for m in methods if m in METHODS.names() and METHODS.get(m).merges)
    if not merging:
        return None
    return (f"{', '.join(merging)} make new tokens (merged or pooled), which carry no I here: I is measured per "
            "original token, so their rows count only the tokens kept as they are (pool keeps none).")  # fmt: skip


def _beats_random(s: Mapping[str, Any]) -> str:
    """The first layer from which no method retains more information than random (Fig. 5's finding)."""
    random = s["retained"].get("random")
    if random is None:
        return "Random was not measured, so no method is compared with it."
    out = []
    for keep, base in random.items():
        first = None
        for k in reversed(range(len(s["layers"]))):
            others = [m[keep][k] for name, m in s["retained"].items() if name != "random" and m[keep][k] is not None]
            if base[k] is None or any(v > base[k] for v in others):
                break
            first = s["layers"][k]
        out.append(f"keep {keep}: {'from layer ' + str(first) if first is not None else 'at no measured layer'}")
    return "Random retains at least as much information as every other method " + "; ".join(out) + "."


# the paper's horizons as its text states them (Sec. 4.1-4.2, Fig. 8 and 9): (model, benchmark) -> layer
PAPER_HORIZONS: Mapping[tuple[str, str], str] = {
    ("llava-1.5-7b", "mme"): "≈16 (Fig. 8), ≈15 (Fig. 9)",
    ("llava-1.5-7b", "textvqa-ocr"): "≈24",  # the paper protocol's TextVQA on LLaVA (horizon/harness/matrix.py)
    ("llava-1.5-7b", "scienceqa-img"): "≈15",
    ("llava-1.5-7b", "pope"): "≈15",
    ("llava-1.5-7b", "ocrbench"): "≈24",
    ("qwen2.5-vl-7b", "mme"): "≈20",
    ("qwen2.5-vl-7b", "scienceqa-img"): "≈20",
    ("qwen2.5-vl-7b", "pope"): "≈20",
    ("qwen2.5-vl-7b", "textvqa"): "≈27",
    ("qwen2.5-vl-7b", "ocrbench"): "≈27",
}


def render_horizons(records: Sequence[Any]) -> str:
    """Horizons per model and benchmark: from information cases (information and withdraw horizons) and from
    the withdraw-all sweeps (``vtw@K`` cases beside the unpruned one), with the paper's where it states one."""
    from horizon.harness.matrix import held_out_of
    from horizon.information.analysis import WITHDRAW_RULE, withdraw_horizon
    from horizon.report.tables import headline_metric, score
    from horizon.stats.horizon import WITHDRAW_RULE as PAIRED_RULE
    from horizon.stats.horizon import withdraw_horizon as paired_horizon

    rows: dict[tuple[str, str, int], dict[str, Any]] = {}  # (model, benchmark, held-out tier): a tier's apart
    for r in records:
        if r.information:
            info = r.information
            row = rows.setdefault((r.model, r.benchmark, held_out_of(r.case)), {})
            row["info"], row["withdraw_info"] = info["horizon"], info["withdraw_horizon"]
    sweeps: dict[tuple[str, str, int], dict[int, Any]] = {}
    full: dict[tuple[str, str, int], Any] = {}
    for r in records:
        if r.schedule.startswith("vtw@") and "+" not in r.schedule:
            sweeps.setdefault((r.model, r.benchmark, held_out_of(r.case)), {})[int(r.schedule[4:])] = r
        elif r.schedule == "full":
            full[(r.model, r.benchmark, held_out_of(r.case))] = r
    banded = False
    for key, points in sweeps.items():
        if key in full and len(points) > 1:
            f = full[key]
            if f.samples and all(p.samples for p in points.values()):  # paired on the same samples
                rows.setdefault(key, {})["sweep"] = paired_horizon(f.units, {k: p.units for k, p in points.items()})[0]
            else:  # records written before per-sample results were kept: the binomial band
                banded = True
                rows.setdefault(key, {})["sweep"] = withdraw_horizon(
                    {k: score(p) for k, p in points.items()}, score(f), f.n, headline_metric(f).kind == "percent")
    if not rows:
        return ""
    table = [[m, b + (f" ({tier} held-out rows)" if tier else ""), _layer(v.get("info", "–")),
              _layer(v.get("withdraw_info", "–")), _layer(v.get("sweep", "–")), PAPER_HORIZONS.get((m, b), "–")]
             for (m, b, tier), v in sorted(rows.items())]  # fmt: skip
    headers = ["model", "benchmark", "information horizon", "withdraw horizon (information case)",
               "withdraw horizon (Fig. 9 sweep)", "paper"]  # fmt: skip
    body = tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)
    rule = PAIRED_RULE + (f" (records without per-sample results: {WITHDRAW_RULE})" if banded else "")
    return f"### Horizons\n\n{body}\n\n{rule}; '–': not measured, 'none': not reached.\n"


def _layer(value: Any) -> str:
    return "none" if value is None else str(value)


def plot_information(study: Mapping[str, Any], out: Path, prefix: str = "") -> list[Path]:
    """Draw the study's figures (:func:`horizon.report.information_figures.information_figures`: Figures 7a+8, 7b, 5,
    6) under ``out``; returns the PNGs written (their names start with ``prefix``)."""
    from horizon.files import write_all_atomic
    from horizon.report.figure import save
    from horizon.report.information_figures import information_figures

    files = dict(save(spec, out) for spec in information_figures(study, prefix=prefix))
    write_all_atomic(files)
    return list(files)
