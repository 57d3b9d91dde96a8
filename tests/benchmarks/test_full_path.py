"""The whole loop: samples in, a benchmark recommends, the operator accepts, and the
flow's next call is served by the recommended model with no change in the app."""

import openai

from flows.models import Call
from suggestions.models import Suggestion
from tests.benchmarks.conftest import judge_with, run_benchmark
from tests.conftest import settle
from tests.fakes import judges


def test_benchmark_suggestion_accept_reroutes_the_flow(
    flow, sse_http, fake_openai, bench_settings, gateway, api_key
):
    bench_settings.BENCHMARK_BAR_COST = 0.4
    judge_with(fake_openai, judges.prefers("gpt-4o-mini"))

    result = (
        run_benchmark(sse_http, optimizeFor="cost", challengers=["gpt-4o-mini"])
        .of("result")[0]
        .data
    )

    assert result["recommendation"]["model"] == "gpt-4o-mini"
    suggestion = Suggestion.objects.get(pk=result["suggestion_id"])
    assert (suggestion.current_model, suggestion.suggested_model) == (
        "gpt-4o",
        "gpt-4o-mini",
    )
    assert sse_http.get("/api/status").json()["pendingSuggestions"] == 1
    listed = sse_http.get("/api/suggestions").json()
    assert [s["id"] for s in listed] == [suggestion.pk]
    assert listed[0]["summary"].startswith("gpt-4o-mini: won 4, tied 0, lost 0 of 4")

    decided = sse_http.post(
        f"/api/suggestions/{suggestion.pk}", json={"action": "accept"}
    )
    assert decided.status_code == 200
    assert decided.json()["status"] == "accepted"

    fake_openai.reset()
    app = openai.OpenAI(
        base_url=f"{gateway.url}/v1",
        api_key=api_key,
        default_headers={"X-Flow": "support-bot"},
        max_retries=0,
    )
    app.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Where is my order?"}]
    )
    settle()

    assert fake_openai.last_request.json["model"] == "gpt-4o-mini"
    call = Call.objects.filter(flow=flow, source="proxy").latest("created_at")
    assert (call.requested_model, call.served_model) == ("gpt-4o", "gpt-4o-mini")
    again = sse_http.post(
        f"/api/suggestions/{suggestion.pk}", json={"action": "dismiss"}
    )
    assert again.status_code == 409
