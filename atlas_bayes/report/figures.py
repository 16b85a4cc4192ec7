"""Figures of the report, drawn with matplotlib's Agg canvas and embedded as PNG data URIs.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot): nothing is
registered with a GUI backend or kept in pyplot's global list, and :func:`png_uri` clears
each figure once it is rendered. Text that comes from users (language names) goes through
:func:`plain`, so a ``$`` in a name is shown rather than parsed as mathtext.
"""

import base64
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

from atlas_bayes.intervals import interval_label
from atlas_bayes.report.formatting import number

#: Resolution of the embedded PNGs.
DPI = 110
#: Colour of points and bands outside the fitted data (extrapolation).
EXTRAPOLATION_SHADE = "#f2e6d9"
MULTIPLIER_NAMES = {
    "params": "parameters N",
    "tokens_per_language": "tokens per language",
    "total_tokens": "total tokens",
    "compute": "compute",
}


def plain(text: object) -> str:
    """``text`` as literal matplotlib text (a ``$`` is not mathtext)."""
    return str(text).replace("$", r"\$")


def png_uri(figure: Figure) -> str:
    """Render ``figure`` to a ``data:image/png;base64,...`` URI and clear it."""
    buffer = io.BytesIO()
    try:
        FigureCanvasAgg(figure)
        figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        figure.clear()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _magnitude_axis(axis, unit: str, subs: tuple[float, ...] = (1.0,)) -> None:
    """Log axis with ticks at powers of ten (times ``subs``) written ``1B``, ``10B``..."""
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
    axis.set_major_formatter(FuncFormatter(lambda v, _: number(v, unit)))
    axis.set_minor_formatter(NullFormatter())


def _grid(count: int, width: float = 4.0, height: float = 3.1) -> tuple[Figure, list[Axes]]:
    columns = min(3, max(1, count))
    rows = -(-count // columns)
    figure = _figure(width * columns, height * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel().tolist()
    for extra in axes[count:]:
        extra.set_visible(False)
    return figure, axes[:count]


def _colours(count: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.05, 0.85, max(count, 1))]


# ----------------------------------------------------------------------------- trust


def predictive_check_figure(check: dict, fit_label: str) -> str:
    """Residuals against the predicted loss with predictive intervals, and coverage by language.

    Residuals (observed minus the predictive median) rather than observed against predicted:
    losses span several nats while misfits are hundredths, so on an observed-against-predicted
    plot every point sits on the diagonal and nothing can be read.

    Parameters
    ----------
    check
        :func:`atlas_bayes.report.sections.predictive_check`.
    fit_label
        The fit's name in the title.

    Returns
    -------
    str
        PNG data URI.
    """
    table = check["table"]
    prob = check["probs"][-1]
    label = f"{round(prob * 100)}"
    by_language = check["by_language"]
    wide = len(by_language) > 1
    figure = _figure(12.5 if wide else 6.0, 4.8)
    axes = figure.subplots(1, 2, width_ratios=(1, 1.5)) if wide else [figure.subplots()]
    ax = axes[0]
    inside = table[f"inside_{label}"].to_numpy()
    centre = table["median"].to_numpy()
    # Each observation's predictive interval, around its median: a fitted observation's
    # residual falls inside its own bar.
    ax.vlines(
        centre,
        table[f"lower_{label}"].to_numpy() - centre,
        table[f"upper_{label}"].to_numpy() - centre,
        color="0.75",
        lw=0.6,
        zorder=1,
        label=f"{prob:.0%} predictive interval",
    )
    residual = table["observed"].to_numpy() - centre
    for mask, colour, name in (
        (inside, "#1f77b4", "inside its interval"),
        (~inside, "#d62728", "outside its interval"),
    ):
        if mask.any():
            ax.scatter(
                centre[mask],
                residual[mask],
                s=5,
                color=colour,
                lw=0,
                zorder=2,
                label=f"observed {name} ({mask.sum()})",
            )
    ax.axhline(0, color="0.3", lw=0.8, ls="--", label="observed = predicted median")
    ax.set_xlabel("predicted loss: posterior predictive median (nats per token)")
    ax.set_ylabel("observed minus predicted (nats per token)")
    ax.set_title(plain(f"{fit_label}: residuals and {prob:.0%} predictive intervals"), fontsize=10)
    # Below the axes: residual clouds fill every corner.
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2)
    if wide:
        ax = axes[1]
        order = by_language.sort_values("coverage")
        positions = np.arange(len(order))
        coverage = order["coverage"].to_numpy(float)
        ax.vlines(positions, prob, coverage, color="#1f77b4", lw=1)
        ax.plot(positions, coverage, "o", color="#1f77b4", ms=4)
        ax.axhline(prob, color="#d62728", lw=1, ls="--", label=f"nominal {prob:.0%}")
        ax.set_xticks(positions, [plain(c) for c in order["language"]], rotation=90, fontsize=7)
        # Dots on stems from the nominal level, so the axis can zoom to where they differ.
        ax.set_ylim(max(0.0, min(float(coverage.min()), prob) - 0.05), 1.01)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        ax.set_ylabel(f"share inside the {prob:.0%} predictive interval")
        ax.set_xlabel("evaluation language (lowest coverage first)")
        ax.set_title("coverage by language", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
    return png_uri(figure)


# ----------------------------------------------------------------------------- scaling


def _shade_beyond(ax: Axes, start: float, text: str) -> None:
    ax.axvspan(start, ax.get_xlim()[1], color=EXTRAPOLATION_SHADE, zorder=0, lw=0)
    ax.text(
        0.98, 0.97, text, transform=ax.transAxes, ha="right", va="top", fontsize=7, color="0.35"
    )


def _legend_on_top(ax: Axes, rows: int, **kwargs) -> None:
    """A legend in the top right corner, in headroom added above the data so it hides none.

    Loss curves fall from left to right, so the top right is empty once the y axis extends a
    little above the highest curve; ``rows`` (legend lines, the title included) sets how much.
    """
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + (high - low) * (0.12 + 0.1 * rows))
    # Below the "beyond the fitted ..." label of _shade_beyond.
    ax.legend(loc="upper right", bbox_to_anchor=(1, 0.93), framealpha=0.9, **kwargs)


def scaling_figure(scaling: dict, fit_label: str, ci_prob: float, ci_kind: str) -> str:
    """Loss against tokens at fitted model sizes, per language: observed runs and bands.

    Returns
    -------
    str
        PNG data URI.
    """
    languages = scaling["languages"]
    curves, points = scaling["curves"], scaling["points"]
    figure, axes = _grid(len(languages))
    for ax, code in zip(axes, languages, strict=True):
        mine = curves[curves["language"] == code]
        sizes = sorted(mine["params"].unique())
        for colour, size in zip(_colours(len(sizes)), sizes, strict=True):
            curve = mine[mine["params"] == size]
            ax.fill_between(
                curve["tokens"], curve["ci_low"], curve["ci_high"], color=colour, alpha=0.25, lw=0
            )
            ax.plot(
                curve["tokens"],
                curve["mean"],
                color=colour,
                lw=1.2,
                label=number(size, "parameters"),
            )
            seen = points[
                (points["language"] == code) & np.isclose(points["params"], size, rtol=1e-3)
            ]
            ax.scatter(
                seen["own_tokens"], seen["loss"], s=9, color=colour, edgecolor="k", lw=0.3, zorder=3
            )
        ax.set_xscale("log")
        _magnitude_axis(ax.xaxis, "tokens")
        observed = mine[mine["observed"]]
        _shade_beyond(ax, float(observed["tokens"].max()), "beyond the fitted tokens")
        ax.set_title(plain(f"{code}"), fontsize=10)
        ax.set_xlabel("tokens of the language seen (log scale)")
        ax.set_ylabel("loss (nats per token)")
        columns = 2 if len(sizes) > 2 else 1
        _legend_on_top(
            ax,
            rows=1 + -(-len(sizes) // columns),
            title="model size N",
            fontsize=7,
            title_fontsize=7,
            ncols=columns,
        )
    figure.suptitle(
        plain(
            f"{fit_label}: expected loss with its {interval_label(ci_prob, ci_kind)} (bands); "
            "dots: observed monolingual runs"
        ),
        fontsize=10,
    )
    return png_uri(figure)


def fan_figure(
    scaling: dict, fit_label: str, ci_prob: float, ci_kind: str, per_param: float
) -> str:
    """Expected loss over model size at fixed tokens per parameter, beyond the fitted sizes.

    Returns
    -------
    str
        PNG data URI.
    """
    languages = scaling["languages"]
    fan = scaling["fan"]
    figure, axes = _grid(len(languages))
    for ax, code in zip(axes, languages, strict=True):
        mine = fan[fan["language"] == code]
        ax.fill_between(
            mine["params"], mine["ci_low"], mine["ci_high"], color="#1f77b4", alpha=0.3, lw=0
        )
        ax.plot(mine["params"], mine["mean"], color="#1f77b4", lw=1.2, label="posterior mean")
        ax.set_xscale("log")
        _magnitude_axis(ax.xaxis, "parameters")
        largest = float(mine.loc[mine["observed"], "params"].max())
        _shade_beyond(ax, largest, "beyond the fitted sizes")
        unique = scaling["unique_tokens"].get(code, np.nan)
        if np.isfinite(unique):
            ax.axvline(
                unique / per_param, color="#8c564b", lw=0.8, ls=":", label="tokens = unique tokens"
            )
            _legend_on_top(ax, rows=1, fontsize=7, ncols=2)
        ax.set_title(plain(code), fontsize=10)
        ax.set_xlabel("model size N (log scale)")
        ax.set_ylabel("expected loss (nats per token)")
    figure.suptitle(
        plain(
            f"{fit_label}: extrapolation fan at {per_param:g} tokens per parameter, expected "
            f"loss with its {interval_label(ci_prob, ci_kind)}"
        ),
        fontsize=10,
    )
    return png_uri(figure)


# ----------------------------------------------------------------------------- transfer


def transfer_figure(transfer: dict, fit_label: str, panel: str) -> str:
    """Heatmap of the transfer matrix, target by source: posterior mean tau or P(tau > 0).

    Parameters
    ----------
    transfer
        :func:`atlas_bayes.report.sections.transfer_data`.
    fit_label
        The fit's name in the title.
    panel
        ``"mean"`` (diverging colours centred at 0) or ``"p_positive"`` (centred at 0.5).

    Returns
    -------
    str
        PNG data URI. The diagonal (a language's own tokens, tau = 1) is grey; dots mark the
        pairs with a bilingual run.
    """
    frame = transfer[panel]
    n_target, n_source = frame.shape
    values = frame.to_numpy(float)
    if panel == "mean":
        limit = float(np.nanpercentile(np.abs(values), 99)) or 1.0
        norm, title = TwoSlopeNorm(0.0, -limit, limit), "posterior mean tau (0 = no transfer)"
        scale = "tau: own-token equivalents per source token"
    else:
        norm, title = TwoSlopeNorm(0.5, 0.0, 1.0), "P(tau > 0): probability that the source helps"
        scale = "P(tau > 0)"
    figure = _figure(max(6.0, 0.22 * n_source + 2.2), max(4.0, 0.22 * n_target + 1.6))
    ax = figure.subplots()
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu", norm=norm, aspect="auto")
    ax.set_facecolor("0.8")
    ys, xs = np.nonzero(transfer["bilingual"].to_numpy(bool))
    ax.scatter(xs, ys, s=5, color="k", marker="o", lw=0)
    ax.set_xticks(range(n_source), [plain(c) for c in frame.columns], rotation=90, fontsize=8)
    ax.set_yticks(range(n_target), [plain(c) for c in frame.index], fontsize=8)
    ax.set_xlabel("source language (trained on)")
    ax.set_ylabel("target language (evaluated)")
    ax.set_title(
        plain(f"{fit_label}: {title}; blue helps, red interferes; dots: bilingual runs"),
        fontsize=10,
    )
    colourbar = figure.colorbar(image, ax=ax, shrink=0.6, pad=0.01)
    colourbar.ax.tick_params(labelsize=8)
    colourbar.set_label(scale, fontsize=8)
    return png_uri(figure)


# ----------------------------------------------------------------------------- decisions


def frontier_figure(frontier: dict, fit_label: str, ci_prob: float, ci_kind: str) -> str:
    """Compute-optimal N*, D* and loss over compute budgets, with bands, per language.

    Returns
    -------
    str
        PNG data URI.
    """
    curves = frontier["curves"]
    languages = list(dict.fromkeys(curves["language"]))
    figure = _figure(13.0, 4.0)
    axes = figure.subplots(1, 3)
    panels = (
        ("params", "compute-optimal model size N*", "parameters", True),
        ("tokens", "compute-optimal tokens D*", "tokens", True),
        ("loss", "expected loss at N*, D* (nats per token)", "", False),
    )
    for ax, (quantity, ylabel, unit, log_y) in zip(axes, panels, strict=True):
        for colour, code in zip(_colours(len(languages)), languages, strict=True):
            rows = curves[(curves["language"] == code) & (curves["quantity"] == quantity)]
            ax.fill_between(
                rows["budget"], rows["ci_low"], rows["ci_high"], color=colour, alpha=0.25, lw=0
            )
            ax.plot(rows["budget"], rows["mean"], color=colour, lw=1.3, label=plain(code))
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        if log_y:
            ax.set_yscale("log")
            _magnitude_axis(ax.yaxis, unit)
        if quantity == "tokens":
            for colour, code in zip(_colours(len(languages)), languages, strict=True):
                unique = frontier["unique_tokens"].get(code)
                if unique is not None:
                    ax.axhline(unique, color=colour, lw=0.9, ls=":")
                    # On a white box: the frontier's own curve often crosses the label.
                    ax.text(
                        ax.get_xlim()[0], unique, plain(f" unique tokens of {code}"),
                        color=colour, fontsize=7, va="bottom",
                        bbox={"facecolor": "white", "alpha": 0.8, "lw": 0, "pad": 1},
                    )  # fmt: skip
        largest = max(extent[1] for extent in frontier["fitted_compute"].values())
        _shade_beyond(ax, largest, "beyond the fitted compute")
        ax.set_xlabel("training compute C (FLOPs, log scale)")
        ax.set_ylabel(ylabel)
    axes[0].legend(title="language", fontsize=8, title_fontsize=8, loc="upper left")
    figure.suptitle(
        plain(
            f"{fit_label}: compute-optimal frontier, posterior mean with its "
            f"{interval_label(ci_prob, ci_kind)}"
        ),
        fontsize=10,
    )
    return png_uri(figure)


def _error_bars(rows: pd.DataFrame) -> list[np.ndarray]:
    return [
        (rows["mean"] - rows["ci_low"]).clip(lower=0).to_numpy(),
        (rows["ci_high"] - rows["mean"]).clip(lower=0).to_numpy(),
    ]


def multiplier_figure(table: pd.DataFrame, fit_label: str, ci_prob: float, ci_kind: str) -> str:
    """Iso-loss multipliers for K to r K languages, with intervals and the paper's values.

    Returns
    -------
    str
        PNG data URI.
    """
    figure = _figure(7.0, 4.2)
    ax = figure.subplots()
    names = list(dict.fromkeys(table["quantity"]))
    for colour, name in zip(_colours(len(names)), names, strict=True):
        rows = table[table["quantity"] == name]
        short = name.removesuffix(" multiplier")
        ax.errorbar(
            rows["ratio"], rows["mean"], yerr=_error_bars(rows), fmt="-o", ms=4, capsize=3,
            color=colour, label=MULTIPLIER_NAMES.get(short, short),
        )  # fmt: skip
        paper = rows[rows["published"].notna()]
        if not paper.empty:
            ax.scatter(paper["ratio"], paper["published"], marker="x", s=40, color=colour, zorder=4)
    ax.scatter([], [], marker="x", color="0.2", label="the paper's value")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("ratio K'/K of languages trained on")
    ax.set_ylabel("multiplier at equal loss (x)")
    ax.legend(fontsize=8)
    ax.set_title(
        plain(
            f"{fit_label}: iso-loss multipliers, posterior mean with its "
            f"{interval_label(ci_prob, ci_kind)}"
        ),
        fontsize=10,
    )
    return png_uri(figure)


def crossover_figure(crossover: dict, fit_label: str, ci_prob: float, ci_kind: str) -> str:
    """Crossover tokens over model size for a few languages, with the paper's at 2B.

    Returns
    -------
    str
        PNG data URI.
    """
    table = crossover["table"]
    languages: Sequence[str] = crossover["figure_languages"]
    figure = _figure(7.5, 4.4)
    ax = figure.subplots()
    # Dodge the languages sideways (a few percent of N) so their intervals do not overlap.
    offsets = np.linspace(-0.025, 0.025, max(len(languages), 1))
    for colour, offset, code in zip(_colours(len(languages)), offsets, languages, strict=True):
        rows = table[table["language"] == code].sort_values("params")
        shifted = rows["params"] * 10**offset
        ax.errorbar(
            shifted, rows["mean"], yerr=_error_bars(rows), fmt="-o", ms=4, capsize=3,
            color=colour, label=plain(code),
        )  # fmt: skip
        paper = rows[rows["published"].notna()]
        if not paper.empty:
            ax.scatter(
                paper["params"] * 10**offset,
                paper["published"],
                marker="x",
                s=80,
                linewidths=2.2,
                color=colour,
                zorder=5,
            )
    ax.scatter([], [], marker="x", color="0.2", label="the paper's value (2B)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _magnitude_axis(ax.xaxis, "parameters")
    _magnitude_axis(ax.yaxis, "tokens", subs=(1.0, 2.0, 5.0))
    ax.set_xlabel("model size N (log scale; languages dodged sideways)")
    ax.set_ylabel("crossover tokens (log scale)")
    ax.legend(fontsize=8, ncols=2)
    ax.set_title(
        plain(
            f"{fit_label}: tokens beyond which pretraining beats finetuning; mean with its "
            f"{interval_label(ci_prob, ci_kind)}"
        ),
        fontsize=9,
    )
    return png_uri(figure)


__all__ = [
    "crossover_figure",
    "fan_figure",
    "frontier_figure",
    "multiplier_figure",
    "plain",
    "png_uri",
    "predictive_check_figure",
    "scaling_figure",
    "transfer_figure",
]
