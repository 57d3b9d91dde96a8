"""The benchmark admin: the list, and a run's page with its result table."""

import re

from django.utils.html import escape

from benchmarks.models import Benchmark
from tests.benchmarks.conftest import judge_with, run_benchmark
from tests.fakes import judges


def test_a_runs_page_shows_its_result_table_answers_and_verdicts(
    flow, sse_http, fake_openai, staff
):
    judge_with(fake_openai, judges.prefers("gpt-4o-mini"))
    run_benchmark(sse_http, challengers=["gpt-4o-mini"])
    benchmark = Benchmark.objects.get()
    benchmark.refresh_from_db()

    listing = staff.get("/admin/benchmarks/benchmark/")
    page = staff.get(f"/admin/benchmarks/benchmark/{benchmark.pk}/change/")

    assert listing.status_code == 200
    assert "support-bot" in listing.content.decode()
    html = page.content.decode()
    assert page.status_code == 200
    assert "Win-or-tie (95% interval)" in html
    assert "<td>gpt-4o-mini</td><td>4</td><td>0</td><td>0</td>" in html
    assert "100% (51%-100%)" in html
    assert escape(benchmark.result["recommendation"]["reason"]) in html
    # Latencies read as whole milliseconds, not raw floats.
    assert re.search(r"\d ms<", html)
    assert not re.search(r"\d{2,}\.\d{5,}", html)  # a raw float of ms
