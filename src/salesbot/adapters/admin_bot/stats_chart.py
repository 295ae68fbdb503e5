"""/stats' chart: the last days as one PNG, in total per day and per account.

matplotlib is imported by the first drawing, not at start-up, so the service and the other
commands never pay for it; the figure is drawn on the Agg canvas (no display, no pyplot
state shared between threads), so it can be drawn in a worker thread. Every word on it
comes from the catalogue; the accounts' phones pass the same masking as any text sent.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.logging import secret_mask
from salesbot.application.admin.queries import DayCounts
from salesbot.application.admin.views import DailyStats

TOP_ACCOUNTS = 6
"""Accounts drawn one by one; the rest are added up as one bar of "others"."""
SIZE_INCHES = (10.0, 8.0)
DPI = 100
SERIES = ("stats_chart_sent", "stats_chart_replies", "stats_chart_goals")
COLOURS = ("#4C72B0", "#DD8452", "#55A868")


@dataclass(frozen=True)
class _Bar:
    label: str
    counts: DayCounts


def _values(counts: DayCounts) -> tuple[int, int, int]:
    return counts.sent, counts.replies, counts.goals


def account_bars(daily: DailyStats, t: Texts, top: int = TOP_ACCOUNTS) -> list[_Bar]:
    """The accounts that did anything in the days, busiest first (ties: by id); past `top`
    of them, the rest in one bar."""
    totals = []
    for account in daily.per_account:
        total = sum(account.days, DayCounts())
        if total != DayCounts():
            totals.append((account.phone, total))
    totals.sort(key=lambda item: -sum(_values(item[1])))
    if len(totals) <= top + 1:
        return [_Bar(secret_mask(phone), total) for phone, total in totals]
    rest = totals[top:]
    return [_Bar(secret_mask(phone), total) for phone, total in totals[:top]] + [
        _Bar(t("stats_chart_others", count=len(rest)), sum((c for _, c in rest), DayCounts()))
    ]


def draw_stats_chart(daily: DailyStats, t: Texts) -> bytes:
    """The PNG: the three series per day above, each account's sums over the days below.
    Takes a tenth of a second or more: call it off the event loop."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    days = len(daily.days)
    labels = [t(key) for key in SERIES]
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    per_day, per_account = figure.subplots(2, 1, height_ratios=(3, 2))

    width = 0.27
    for index, (label, colour) in enumerate(zip(labels, COLOURS, strict=True)):
        heights = [_values(counts)[index] for counts in daily.total]
        offsets = [day + (index - 1) * width for day in range(days)]
        per_day.bar(offsets, heights, width, label=label, color=colour)
    per_day.set_title(t("stats_chart_daily", days=days))
    per_day.set_ylabel(t("stats_chart_count"))
    per_day.set_xticks(range(days), [t("stats_chart_day", day=d) for d in daily.days])
    per_day.tick_params(axis="x", labelrotation=45)
    per_day.yaxis.set_major_locator(MaxNLocator(integer=True))
    per_day.legend(loc="upper left")
    per_day.grid(axis="y", alpha=0.3)

    bars = account_bars(daily, t)
    height = 0.27
    for index, (label, colour) in enumerate(zip(labels, COLOURS, strict=True)):
        widths = [_values(bar.counts)[index] for bar in bars]
        offsets = [row + (index - 1) * height for row in range(len(bars))]
        per_account.barh(offsets, widths, height, label=label, color=colour)
    per_account.set_title(t("stats_chart_accounts", days=days))
    per_account.set_xlabel(t("stats_chart_count"))
    per_account.set_yticks(range(len(bars)), [bar.label for bar in bars])
    per_account.invert_yaxis()  # the busiest on top
    per_account.xaxis.set_major_locator(MaxNLocator(integer=True))
    per_account.grid(axis="x", alpha=0.3)

    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
