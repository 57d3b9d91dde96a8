"""What the admin's dashboard shows: the index across every account, and one flow's
page. It gathers from every app's selectors (it sits above them all, as the URL conf
does) and draws the charts; the admin site in `llmtest.admin_site` renders it.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.urls import reverse

from accounts import selectors as account_selectors
from benchmarks import selectors as benchmark_selectors
from benchmarks.models import Benchmark
from flows import selectors as flow_selectors
from flows.models import Flow, Sample
from llmtest import charts, formats
from llmtest.formats import usd
from suggestions import selectors as suggestion_selectors

# Days the dashboard looks back over.
DAYS = 30
# Flows drawn on their own in the spend chart (the rest are summed as one) and
# listed as the top flows: one colour each, the palette's last kept for the rest.
TOP_FLOWS = len(charts.PALETTE) - 1
# Rows of the lists on the index and a flow's page.
PENDING_SHOWN = 10
ACCOUNTS_SHOWN = 10
SAMPLES_SHOWN = 5
BENCHMARKS_SHOWN = 10
# Pixels of a chart drawn at half the page's width, so its text stays readable.
_HALF = (480, 260)
# Characters of a sample's first user message shown.
_OPENING_CHARS = 120


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def days_left(value: float | None) -> str:
    return formats.days_left(value, account_selectors.BURN_WINDOW_DAYS)


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _day_labels(days: list[Any]) -> list[str]:
    return [day.strftime("%b %d") for day in days]


def _flow_url(flow_id: int) -> str:
    return reverse("admin:dashboard_flow", args=[flow_id])


# --- the index --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopFlow:
    label: str
    account: str
    spend: str
    calls: int
    p95: str
    url: str


def _flow_labels(flows: list[flow_selectors.FlowSpend]) -> dict[int, str]:
    """Flow names, with the account's e-mail where two accounts use one name."""
    names = [flow.flow for flow in flows]
    return {
        flow.flow_id: flow.flow
        if names.count(flow.flow) == 1
        else f"{flow.flow} ({flow.account})"
        for flow in flows
    }


def _spend_chart(spend: flow_selectors.DailySpend, labels: dict[int, str]) -> str:
    series = [
        charts.Series(
            labels[flow.flow_id], [float(v) for v in spend.per_flow[flow.flow_id]]
        )
        for flow in spend.flows
    ]
    if any(spend.others):
        series.append(charts.Series("other flows", [float(v) for v in spend.others]))
    return charts.bar_chart(
        f"Spend per day by flow, last {DAYS} days",
        _day_labels(spend.days),
        series,
        y_title="USD per day",
        fmt=usd,
        tick_fmt=formats.usd_ticks,
        empty_message=f"No calls in the last {DAYS} days",
    )


def index_context() -> dict[str, Any]:
    """Everything the index shows, in a fixed number of queries."""
    days = flow_selectors.window_days(DAYS)
    spend = flow_selectors.spend_per_day(days, TOP_FLOWS)
    labels = _flow_labels(spend.flows)
    pending, pending_count = suggestion_selectors.pending_everywhere(PENDING_SHOWN)
    accounts, overall = account_selectors.outlooks(ACCOUNTS_SHOWN)
    return {
        "days": DAYS,
        "spend_chart": _spend_chart(spend, labels),
        "totals": {
            "spend": usd(spend.spend_usd),
            "calls": spend.calls,
            "p95": ms(spend.p95_latency_ms),
            "pending": pending_count,
            **_credit_totals(overall, bool(accounts)),
        },
        "top_flows": [
            TopFlow(
                label=labels[flow.flow_id],
                account=flow.account,
                spend=usd(flow.spend_usd),
                calls=flow.calls,
                p95=ms(flow.p95_latency_ms),
                url=_flow_url(flow.flow_id),
            )
            for flow in spend.flows
        ],
        "pending": pending,
        "pending_more": max(0, pending_count - len(pending)),
        "accounts": [_outlook_row(outlook) for outlook in accounts],
        "low_accounts": sum(1 for outlook in accounts if outlook.low),
    }


def _credit_totals(
    overall: account_selectors.CreditOutlook, any_accounts: bool
) -> dict[str, Any]:
    """The credit cards: no alarm without accounts, and none on the runway card
    while nothing is spent (the credits do not run out)."""
    if not any_accounts:
        return {
            "credits": "—",
            "credits_note": "no accounts yet",
            "days_left": "—",
            "low_usd": False,
            "low_days": False,
        }
    return {
        "credits": usd(overall.credits_usd),
        "credits_note": f"burn {usd(overall.burn_per_day_usd)}/day",
        "days_left": days_left(overall.days_left),
        "low_usd": overall.low_usd,
        "low_days": overall.low_days,
    }


def _outlook_row(outlook: account_selectors.CreditOutlook) -> dict[str, Any]:
    return {
        "email": outlook.email,
        "url": reverse("admin:accounts_account_change", args=[outlook.account_id]),
        "credits": usd(outlook.credits_usd),
        "burn": usd(outlook.burn_per_day_usd),
        "days_left": days_left(outlook.days_left),
        "low": outlook.low,
        "low_usd": outlook.low_usd,
        "low_days": outlook.low_days,
        "warning": outlook.warning,
    }


# --- a flow's page ----------------------------------------------------------------


def _opening(sample: Sample) -> str:
    for message in sample.messages:
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            text = content if isinstance(content, str) else str(content)
            if len(text) > _OPENING_CHARS:
                return text[: _OPENING_CHARS - 1] + "…"
            return text
    return ""


def _flow_charts(rows: list[flow_selectors.FlowDay]) -> tuple[str, str]:
    labels = _day_labels([row.day for row in rows])
    cost = charts.bar_chart(
        f"Spend per day, last {DAYS} days",
        labels,
        [charts.Series("spend", [float(row.spend_usd) for row in rows])],
        y_title="USD per day",
        fmt=usd,
        tick_fmt=formats.usd_ticks,
        empty_message=f"No calls in the last {DAYS} days",
        size=_HALF,
    )
    latency = charts.line_chart(
        f"p95 latency per day, last {DAYS} days",
        labels,
        [charts.Series("p95 latency", [row.p95_latency_ms for row in rows])],
        y_title="ms",
        fmt=lambda v: f"{v:,.0f}",
        empty_message=f"No proxied calls in the last {DAYS} days",
        size=_HALF,
    )
    return cost, latency


def _kind(point: benchmark_selectors.QualityPoint) -> str:
    if point.recommended:
        return "recommended"
    return "better" if point.better else "other"


def cost_quality_chart(result: benchmark_selectors.CostQuality) -> str:
    """Each challenger's mean cost per call against its rate, with the 95% Wilson
    interval as an error bar, the current model's cost and the bar as dashed lines.
    Challengers with no known cost cannot be placed and are left out."""
    metric = "win rate" if result.metric == "win_rate" else "win-or-tie rate"
    points = [
        charts.Point(
            label=point.model,
            x=point.mean_cost_usd,
            y=point.rate,
            low=point.low,
            high=point.high,
            kind=_kind(point),
            note=point.summary,
        )
        for point in result.points
        if point.mean_cost_usd is not None and point.rate is not None
    ]
    baseline = (
        None
        if result.baseline_cost_usd is None
        else charts.Reference(
            f"{result.baseline_model} (current): {usd(result.baseline_cost_usd)}",
            result.baseline_cost_usd,
        )
    )
    return charts.scatter_chart(
        f"Cost against quality: challengers of {result.baseline_model}",
        points,
        x_title="mean cost per call (USD)",
        y_title=f"{metric} vs current",
        x_fmt=usd,
        x_tick_fmt=formats.usd_ticks,
        y_fmt=_percent,
        y_range=(0.0, 1.0),
        x_reference=baseline,
        y_reference=charts.Reference(f"bar {result.bar:.0%}", result.bar),
        empty_message="No challenger was both priced and judged",
    )


def _benchmark_row(benchmark: Benchmark, selected: bool) -> dict[str, Any]:
    recommendation = (benchmark.result or {}).get("recommendation") or {}
    if recommendation.get("model"):
        verdict = f"Switch to {recommendation['model']}"
    elif benchmark.status == Benchmark.Status.DONE:
        verdict = "No switch"
    else:
        verdict = benchmark.get_status_display()
    return {
        "benchmark": benchmark,
        "verdict": verdict,
        "selected": selected,
        "url": reverse("admin:benchmarks_benchmark_change", args=[benchmark.pk]),
    }


def _selected_benchmark(
    benchmarks: list[Benchmark], wanted: str | None
) -> Benchmark | None:
    """The run asked for by id, else the newest one with a result."""
    with_result = [b for b in benchmarks if b.result]
    for benchmark in with_result:
        if wanted and str(benchmark.pk) == wanted:
            return benchmark
    return with_result[0] if with_result else None


def flow_context(flow: Flow, benchmark_id: str | None) -> dict[str, Any]:
    """Everything a flow's page shows, in a fixed number of queries."""
    days = flow_selectors.window_days(DAYS)
    rows = flow_selectors.flow_days(flow.pk, days)
    cost_chart, latency_chart = _flow_charts(rows)
    benchmarks = benchmark_selectors.flow_benchmarks(flow.pk, BENCHMARKS_SHOWN)
    selected = _selected_benchmark(benchmarks, benchmark_id)
    result = benchmark_selectors.cost_quality(selected) if selected else None
    samples = flow_selectors.flow_recent_samples(flow.pk, SAMPLES_SHOWN)
    return {
        "flow": flow,
        "days": DAYS,
        "totals": {
            "spend": usd(sum((row.spend_usd for row in rows), Decimal(0))),
            "calls": sum(row.calls for row in rows),
        },
        "cost_chart": cost_chart,
        "latency_chart": latency_chart,
        "models": [
            {
                "model": use.model,
                "calls": use.calls,
                "spend": usd(use.spend_usd),
                "p50": ms(use.p50_latency_ms),
                "p95": ms(use.p95_latency_ms),
                "last": use.last_call_at,
            }
            for use in flow_selectors.flow_models_used(flow.pk, days)
        ],
        "routes": flow_selectors.flow_active_routes(flow.pk),
        "sample_count": flow_selectors.flow_sample_count(flow.pk),
        "samples": [(sample, _opening(sample)) for sample in samples],
        "benchmarks": [_benchmark_row(b, b == selected) for b in benchmarks],
        "result": result,
        "points": [_point_row(point) for point in (result.points if result else [])],
        "quality_chart": cost_quality_chart(result) if result else "",
        "pending": suggestion_selectors.flow_pending(flow.pk),
    }


def _point_row(point: benchmark_selectors.QualityPoint) -> dict[str, Any]:
    return {
        "model": point.model,
        "kind": _kind(point),
        "cost": usd(point.mean_cost_usd),
        "rate": "—" if point.rate is None else _percent(point.rate),
        "interval": "—"
        if point.low is None or point.high is None
        else f"{_percent(point.low)} to {_percent(point.high)}",
        "summary": point.summary,
    }
