from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from benchmarks.models import Answer, Benchmark, Judgment
from llmtest.formats import usd_fixed

_COLUMNS = (
    "Model",
    "Won",
    "Tied",
    "Lost",
    "Not judged",
    "Win-or-tie (95% interval)",
    "Mean cost / call",
    "Monthly cost",
    "p50 / p95 latency",
    "Recommended",
)

_ANSWER_FIELDS = ("sample", "model", "status", "latency", "cost_usd", "error")
_JUDGMENT_FIELDS = (
    "sample",
    "challenger",
    "verdict",
    "first_order",
    "second_order",
    "reason",
)
_BENCHMARK_FIELDS = (
    "flow",
    "account",
    "status",
    "current_model",
    "challengers",
    "optimize_for",
    "judge_model",
    "verdict",
    "result_table",
    "spend",
    "error",
    "created_at",
    "started_at",
    "finished_at",
)


def _usd(value: Any) -> str:
    return "—" if value is None else usd_fixed(value)


def _ms(row: dict[str, Any]) -> str:
    p50, p95 = row.get("p50_latency_ms"), row.get("p95_latency_ms")
    return "—" if p50 is None else f"{p50:.0f} / {p95:.0f} ms"


def _rate(row: dict[str, Any]) -> str:
    rate = row.get("win_or_tie_rate")
    if rate is None:
        return "—"
    interval = row.get("interval") or {}
    return f"{rate:.0%} ({interval.get('low', 0):.0%}-{interval.get('high', 0):.0%})"


class _ReadOnly(admin.ModelAdmin):
    """Runs are made by the API; the admin shows them and may delete them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AnswerInline(admin.TabularInline):
    model = Answer
    fields = readonly_fields = _ANSWER_FIELDS
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="latency")
    def latency(self, answer: Answer) -> str:
        return "-" if answer.latency_ms is None else f"{answer.latency_ms:,.0f} ms"


class JudgmentInline(admin.TabularInline):
    model = Judgment
    fields = readonly_fields = _JUDGMENT_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Benchmark)
class BenchmarkAdmin(_ReadOnly):
    list_display = [
        "created_at",
        "flow",
        "account",
        "status",
        "current_model",
        "optimize_for",
        "verdict",
    ]
    list_filter = ["status", "optimize_for", "created_at"]
    search_fields = ["flow__name", "account__email", "current_model"]
    list_select_related = ["flow", "account"]
    date_hierarchy = "created_at"
    fields = readonly_fields = _BENCHMARK_FIELDS
    inlines = [JudgmentInline, AnswerInline]

    @admin.display(description="Verdict")
    def verdict(self, benchmark: Benchmark) -> str:
        recommendation = (benchmark.result or {}).get("recommendation") or {}
        if recommendation.get("model"):
            return f"Switch to {recommendation['model']}"
        return str(recommendation.get("reason") or "—")

    @admin.display(description="Result")
    def result_table(self, benchmark: Benchmark) -> SafeString | str:
        result = benchmark.result
        if not result:
            return "—"
        baseline = result.get("baseline") or {}
        rows = [
            (
                f"{baseline.get('model')} (current)",
                "",
                "",
                "",
                "",
                "",
                _usd(baseline.get("mean_cost_usd")),
                _usd(baseline.get("monthly_cost_usd")),
                _ms(baseline),
                "",
            )
        ]
        for row in result.get("challengers") or []:
            rows.append(
                (
                    row["model"],
                    row["wins"],
                    row["ties"],
                    row["losses"],
                    row["errors"],
                    _rate(row),
                    _usd(row.get("mean_cost_usd")),
                    _usd(row.get("monthly_cost_usd")),
                    _ms(row),
                    "yes" if row.get("recommended") else "",
                )
            )
        head = format_html_join("", "<th>{}</th>", ((c,) for c in _COLUMNS))
        body = format_html_join(
            "",
            "<tr>" + "<td>{}</td>" * len(_COLUMNS) + "</tr>",
            rows,
        )
        reason = (result.get("recommendation") or {}).get("reason", "")
        return format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table><p>{}</p>",
            head,
            body,
            reason,
        )

    @admin.display(description="Spend")
    def spend(self, benchmark: Benchmark) -> str:
        spend = (benchmark.result or {}).get("spend")
        if not spend:
            return "—"
        return (
            f"{_usd(spend.get('models_usd'))} on model calls, "
            f"{_usd(spend.get('judge_usd'))} on the judge, "
            f"{_usd(spend.get('total_usd'))} in all"
        )
