from decimal import Decimal

import factory

from accounts import services
from accounts.models import Account
from benchmarks.models import Benchmark
from flows.models import Call, Flow, Sample
from flows.samples import sample_digest
from suggestions.models import Suggestion


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"team{n}@example.com")

    @factory.post_generation
    def credits(
        obj: Account, create: bool, extracted: Decimal | None, **_: object
    ) -> None:
        """`AccountFactory(credits=Decimal("5"))` tops up through the ledger."""
        if create and extracted:
            services.credits_add(obj, Decimal(extracted), "topup", "factory")
            obj.refresh_from_db()


class FlowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Flow

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"flow-{n}")


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    flow = factory.SubFactory(FlowFactory)
    account = factory.SelfAttribute("flow.account")
    api = "chat.completions"
    requested_model = "gpt-4o-mini"
    served_model = "gpt-4o-mini"
    provider = "openai"
    outcome = Call.Outcome.OK
    http_status = 200
    latency_ms = 100.0
    input_tokens = 10
    output_tokens = 5
    cost_usd = Decimal("0.001")
    priced = True


def api_key_for(account: Account, name: str = "") -> str:
    """A fresh full key for the account (the factory way to get one)."""
    _, raw = services.api_key_create(account, name)
    return raw


class BenchmarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Benchmark

    flow = factory.SubFactory(FlowFactory)
    account = factory.SelfAttribute("flow.account")
    status = Benchmark.Status.DONE
    current_model = "gpt-4o"
    challengers = factory.LazyFunction(lambda: ["gpt-4o-mini"])
    judge_model = "gpt-4o"


class SuggestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suggestion

    flow = factory.SubFactory(FlowFactory)
    account = factory.SelfAttribute("flow.account")
    current_model = "gpt-4o"
    suggested_model = "gpt-4o-mini"
    optimize_for = "balanced"
    summary = "gpt-4o-mini wins or ties on 96% of samples at a sixth of the cost."
    figures = factory.LazyFunction(lambda: {"cost_change_pct": -83.3, "samples": 50})


class SampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sample

    flow = factory.SubFactory(FlowFactory)
    messages = factory.Sequence(
        lambda n: [{"role": "user", "content": f"Where is my order #{1000 + n}?"}]
    )
    source = Sample.Source.SEEDED
    digest = factory.LazyAttribute(lambda sample: sample_digest(sample.messages))
