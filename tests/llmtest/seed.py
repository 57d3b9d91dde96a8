"""A month of realistic traffic for the dashboard's tests: two accounts, five flows,
calls every day, charged through the ledger, samples, a routed flow, and a finished
benchmark whose result and suggestion come from the product's own functions."""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts import services
from accounts.models import Account, CreditEntry
from benchmarks import results
from benchmarks.models import Answer, Benchmark, Judgment, StepStatus
from flows import routes
from flows.models import Call, Flow
from suggestions.models import Suggestion
from suggestions.services import suggestion_file
from tests.factories import AccountFactory, BenchmarkFactory, FlowFactory, SampleFactory

# model: (USD per call, median latency in ms)
MODELS = {
    "gpt-4o": (Decimal("0.0062"), 900.0),
    "gpt-4o-mini": (Decimal("0.00041"), 520.0),
    "claude-haiku-4-5": (Decimal("0.0011"), 610.0),
    "gpt-4.1": (Decimal("0.0078"), 1100.0),
}
# flow name: (account, model asked for, calls per day)
FLOWS = {
    "support-bot": ("acme", "gpt-4o", 24),
    "summarizer": ("acme", "gpt-4o", 10),
    "search-rerank": ("acme", "gpt-4o-mini", 30),
    "classifier": ("globex", "claude-haiku-4-5", 12),
}
QUESTIONS = [
    "I was charged twice for my subscription this month.",
    "How do I reset my password if I no longer have the old e-mail?",
    "Can I change the delivery address of an order already shipped?",
    "The app crashes when I open the invoices tab on Android.",
    "Do you offer a discount for non-profit organisations?",
    "My parcel says delivered but it is not at my door.",
    "How can I export all my data before closing the account?",
    "Is there a way to share one workspace between two teams?",
    "What happens to my files if my card payment fails?",
    "I want to cancel, but keep access until the end of the period.",
]
# challenger: verdicts in the order win, tie, loss over the benchmark's samples
VERDICTS = {
    "gpt-4o-mini": (6, 13, 1),
    "claude-haiku-4-5": (4, 9, 7),
    "gpt-4.1": (9, 11, 0),
}


@dataclass
class Seeded:
    acme: Account
    globex: Account
    flows: dict[str, Flow]
    benchmark: Benchmark
    suggestion: Suggestion


def _calls(flow: Flow, model: str, per_day: int, days: int, rng: random.Random) -> None:
    cost, latency = MODELS[model]
    now = timezone.now()
    rows = []
    for back in range(days):
        # Traffic that grows towards today, with day-to-day noise.
        count = max(1, round(per_day * (0.6 + 0.4 * (days - back) / days)))
        count += rng.randint(-2, 2)
        for _ in range(max(count, 1)):
            at = now - timedelta(days=back, seconds=rng.randint(60, 86_000))
            rows.append(
                Call(
                    account=flow.account,
                    flow=flow,
                    api="chat.completions",
                    requested_model=model,
                    served_model=model,
                    provider="anthropic" if model.startswith("claude") else "openai",
                    outcome=Call.Outcome.OK,
                    http_status=200,
                    input_tokens=rng.randint(300, 1800),
                    output_tokens=rng.randint(40, 400),
                    latency_ms=round(latency * rng.lognormvariate(0, 0.35), 1),
                    cost_usd=cost * Decimal(str(round(rng.uniform(0.5, 1.6), 3))),
                    priced=True,
                    created_at=max(at, now - timedelta(days=days - 1)),
                )
            )
    Call.objects.bulk_create(rows)
    services.charges_apply(
        services.Charge(c.account_id, c.id, c.cost_usd, "seed") for c in rows
    )
    # Each charge dated with its call, so the burn rate sees a month, not a day.
    when = {c.id: c.created_at for c in rows}
    entries = list(CreditEntry.objects.filter(call_id__in=when))
    for entry in entries:
        entry.created_at = when[entry.call_id]
    CreditEntry.objects.bulk_update(entries, ["created_at"])


def _benchmark(flow: Flow, rng: random.Random) -> Benchmark:
    samples = [
        SampleFactory(
            flow=flow,
            messages=[
                {"role": "system", "content": "You are a helpful support agent."},
                {"role": "user", "content": f"{question} (ticket {n})"},
            ],
        )
        for n, question in enumerate(QUESTIONS * 2)
    ]
    benchmark = BenchmarkFactory(
        flow=flow,
        current_model="gpt-4o",
        challengers=list(VERDICTS),
        optimize_for=Benchmark.Goal.BALANCED,
        judge_model="gpt-4o-mini",
        status=Benchmark.Status.RUNNING,
    )
    benchmark.samples.set(samples)
    for model in benchmark.models:
        cost, latency = MODELS[model]
        Answer.objects.bulk_create(
            Answer(
                benchmark=benchmark,
                sample=sample,
                model=model,
                status=StepStatus.DONE,
                text="Sorry about that: here is what to do.",
                cost_usd=cost,
                latency_ms=round(latency * rng.lognormvariate(0, 0.2), 1),
            )
            for sample in samples
        )
    for challenger, (wins, ties, losses) in VERDICTS.items():
        verdicts = ["win"] * wins + ["tie"] * ties + ["loss"] * losses
        Judgment.objects.bulk_create(
            Judgment(
                benchmark=benchmark,
                sample=sample,
                challenger=challenger,
                status=StepStatus.DONE,
                verdict=verdict,
                cost_usd=Decimal("0.0003"),
            )
            for sample, verdict in zip(samples, verdicts, strict=True)
        )
    benchmark.result = results.aggregate(benchmark)
    benchmark.status = Benchmark.Status.DONE
    benchmark.finished_at = timezone.now()
    benchmark.save()
    return benchmark


def seed_month(days: int = 30, seed: int = 7) -> Seeded:
    rng = random.Random(seed)
    acme = AccountFactory(email="acme@example.com", credits=Decimal("40"))
    globex = AccountFactory(email="globex@example.com", credits=Decimal("3"))
    owners = {"acme": acme, "globex": globex}
    flows = {
        name: FlowFactory(account=owners[owner], name=name)
        for name, (owner, _, _) in FLOWS.items()
    }
    for name, (_, model, per_day) in FLOWS.items():
        _calls(flows[name], model, per_day, days, rng)
    routes.route_set(
        flows["summarizer"], "gpt-4o", "gpt-4o-mini", note="suggestion accepted"
    )
    benchmark = _benchmark(flows["support-bot"], rng)
    suggestion = suggestion_file(benchmark)
    assert suggestion is not None, "the seeded benchmark recommends a switch"
    for account in (acme, globex):
        account.refresh_from_db()
    return Seeded(acme, globex, flows, benchmark, suggestion)
