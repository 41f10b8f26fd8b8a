"""Information studies as Markdown and PNG (the paper's Figures 5-9, 11, 12); rendering is pure, plotting
writes files. A study is :meth:`horizon.evaluation.study.Study.to_dict` (as JSON holds it: string keys)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from horizon.methods import METHODS


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3g}"


def render_information(study: Mapping[str, Any], figures: Sequence[str] = ()) -> str:
    """One Markdown section: horizons, per-layer statistics, retained information, accuracies, figures."""
    s = study
    layers = list(s["layers"])
    title = f"### Information: {s['model']} on {s['benchmark']} ({s['n']} samples)"
    lines = [title, ""]
    lines.append(f"- information horizon: **layer {s['horizon']}** ({s['rules']['horizon']})"
                 if s["horizon"] is not None else f"- information horizon: not reached ({s['rules']['horizon']})")  # fmt: skip
    if s.get("full") is not None and s["withdraw"]:
        wh = s["withdraw_horizon"]
        lines.append(f"- withdraw horizon: **{'layer ' + str(wh) if wh is not None else 'not reached'}** "
                     f"({s['rules']['withdraw']}); unpruned {s['metric']} {s['full']:.2f}")  # fmt: skip
    lines.append(f"- removal: {s['rules']['removal']}; answer token: {s['rules']['answer']}")
    lines.append(f"- mean p(y) unpruned {s['p_full']:.4g}")
    if s.get("failures"):
        lines.append(f"- {len(s['failures'])} samples failed, first: {s['failures'][0]}")
    lines.append("")
    withdraw = {int(k): v for k, v in s["withdraw"].items()}
    rows = []
    for k, layer in enumerate(layers):
        row = [layer, _fmt(s["mean"][k]), _fmt(s["variance"][k]), _fmt(s["p_text"][k]), _fmt(withdraw.get(layer))]
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
    lines += [f"![{name}]({name})" for name in figures]
    return "\n".join(lines) + "\n"


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
    from horizon.information.analysis import WITHDRAW_RULE, withdraw_horizon
    from horizon.report.tables import headline_metric, score
    from horizon.stats.horizon import WITHDRAW_RULE as PAIRED_RULE
    from horizon.stats.horizon import withdraw_horizon as paired_horizon

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        if r.information:
            info = r.information
            row = rows.setdefault((r.model, r.benchmark), {})
            row["info"], row["withdraw_info"] = info["horizon"], info["withdraw_horizon"]
    sweeps: dict[tuple[str, str], dict[int, Any]] = {}
    full: dict[tuple[str, str], Any] = {}
    for r in records:
        if r.schedule.startswith("vtw@") and "+" not in r.schedule:
            sweeps.setdefault((r.model, r.benchmark), {})[int(r.schedule[4:])] = r
        elif r.schedule == "full":
            full[(r.model, r.benchmark)] = r
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
    table = [[m, b, _layer(v.get("info", "–")), _layer(v.get("withdraw_info", "–")), _layer(v.get("sweep", "–")),
              PAPER_HORIZONS.get((m, b), "–")] for (m, b), v in sorted(rows.items())]  # fmt: skip
    headers = ["model", "benchmark", "information horizon", "withdraw horizon (information case)",
               "withdraw horizon (Fig. 9 sweep)", "paper"]  # fmt: skip
    body = tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)
    rule = PAIRED_RULE + (f" (records without per-sample results: {WITHDRAW_RULE})" if banded else "")
    return f"### Horizons\n\n{body}\n\n{rule}; '–': not measured, 'none': not reached.\n"


def _layer(value: Any) -> str:
    return "none" if value is None else str(value)


def plot_information(study: Mapping[str, Any], out: Path, prefix: str = "") -> list[Path]:
    """Figures 7a+8 (mean and variance per layer, withdraw-all accuracy), 7b (token maps), 5 (retained
    information per method), 6 (oracle accuracy); returns the PNGs written (their names start with ``prefix``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, stem = study, f"{prefix}info-{study['model']}-{study['benchmark']}"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    layers = list(s["layers"])

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.4), dpi=110)
    ax[0].plot(layers, s["mean"], marker="o", ms=3, label="mean information")
    if s["horizon"] is not None:
        ax[0].axvline(s["horizon"], ls="--", c="purple", lw=1, label="information horizon")
    ax[0].set(xlabel="layer", ylabel="mean I", title="mean information per layer (Fig. 8)")
    if s["withdraw"]:
        twin = ax[0].twinx()
        points = sorted((int(k), v) for k, v in s["withdraw"].items())
        twin.plot(
            [p for p, _ in points], [v for _, v in points], c="tab:orange", marker="s", ms=3, label="withdraw all"
        )
        if s.get("full") is not None:
            twin.axhline(s["full"], ls=":", c="tab:orange", lw=1)
        twin.set_ylabel(f"{s['metric']} with all visual tokens withdrawn")
    ax[0].legend(fontsize=7)
    ax[1].plot(layers, s["variance"], marker="o", ms=3)
    ax[1].set(xlabel="layer", ylabel="variance of I over tokens", title="variance per layer (Fig. 7a)")
    fig.suptitle(f"{s['model']} · {s['benchmark']} · {s['n']} samples", fontsize=9)
    fig.tight_layout()
    written.append(_save(fig, out / f"{stem}-layers.png", plt))

    if s["grid"] is not None and s["example"]:
        rows, cols = s["grid"]
        shown = sorted(int(k) for k in s["example"])
        fig, axes = plt.subplots(1, len(shown), figsize=(3.2 * len(shown), 3), dpi=110, squeeze=False)
        for a, layer in zip(axes[0], shown, strict=True):
            image = a.imshow(_grid(s["example"][str(layer)], rows, cols), cmap="viridis")
            a.set(title=f"layer {layer}", xticks=[], yticks=[])
            fig.colorbar(image, ax=a, fraction=0.046)
        fig.suptitle("information per visual token, first sample (Fig. 7b)", fontsize=9)
        fig.tight_layout()
        written.append(_save(fig, out / f"{stem}-maps.png", plt))

    if s["retained"]:
        keeps = sorted({k for m in s["retained"].values() for k in m})
        fig, axes = plt.subplots(1, len(keeps), figsize=(4 * len(keeps), 3.2), dpi=110, squeeze=False)
        for a, keep in zip(axes[0], keeps, strict=True):
            for method, per_keep in s["retained"].items():
                pts = [(x, v) for x, v in zip(layers, per_keep.get(keep, []), strict=False) if v is not None]
                a.plot([x for x, _ in pts], [v for _, v in pts], marker="o", ms=3, label=method,
                       ls="--" if method == "random" else "-")  # fmt: skip
            a.set(xlabel="layer", ylabel="Σ I of kept tokens", title=f"keep {keep}")
        axes[0][0].legend(fontsize=7)
        fig.suptitle("information retained by each method (Fig. 5)", fontsize=9)
        fig.tight_layout()
        written.append(_save(fig, out / f"{stem}-retained.png", plt))

    if s["oracle"]:
        fig, a = plt.subplots(figsize=(5, 3.2), dpi=110)
        for keep, per_layer in sorted(s["oracle"].items()):
            pts = sorted((int(k), v) for k, v in per_layer.items())
            a.plot([x for x, _ in pts], [v for _, v in pts], marker="o", ms=3, label=f"oracle keep {keep}")
        if s.get("full") is not None:
            a.axhline(s["full"], ls="--", c="gray", lw=1, label="unpruned")
        a.set(xlabel="pruning layer", ylabel=s["metric"], title="pruning by information (Fig. 6)")
        a.legend(fontsize=7)
        fig.tight_layout()
        written.append(_save(fig, out / f"{stem}-oracle.png", plt))
    return written


def _grid(values: Sequence[float], rows: int, cols: int) -> list[list[float]]:
    return [list(values[r * cols : (r + 1) * cols]) for r in range(rows)]


def _save(fig: Any, path: Path, plt: Any) -> Path:
    fig.savefig(path)
    plt.close(fig)
    return path
