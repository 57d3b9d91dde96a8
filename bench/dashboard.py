"""How long the admin's dashboard takes to gather as the call table grows.

Fills a fresh database with CALLS call records spread over 30 days, FLOWS flows and
ACCOUNTS accounts (written in bulk, not through the proxy), then times gathering the
index (`llmtest.dashboard.index_context`) and the busiest flow's page
(`flow_context`) several times, and prints the median, the slowest and the number of
queries each took.

    .venv/bin/python -m bench.dashboard [--calls 200000] [--flows 40] [--accounts 5]

It uses PostgreSQL on 127.0.0.1 by default (--database-url for another; a
sqlite:/// URL works too). The bench database is dropped and made anew.
"""

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bench._common import recreate_database

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/llmtest_bench_dashboard"
# Rows written per INSERT.
_BATCH = 5000
_MODELS = ["gpt-4o", "gpt-4o-mini", "claude-haiku-4-5", "gpt-4.1"]


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmtest.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _fill(calls: int, flows: int, accounts: int) -> int:
    """Write the rows; returns the busiest flow's id."""
    from django.utils import timezone

    from accounts.models import Account
    from flows.models import Call, Flow

    rng = random.Random(1)
    owners = [
        Account.objects.create(email=f"team{n}@example.com", credits_usd=Decimal(50))
        for n in range(accounts)
    ]
    flow_rows = [
        Flow.objects.create(account=owners[n % accounts], name=f"flow-{n}")
        for n in range(flows)
    ]
    # A few flows carry most of the traffic, as in real use.
    weights = [1 / (n + 1) for n in range(flows)]
    now = timezone.now()
    batch: list[Call] = []
    for _ in range(calls):
        flow = rng.choices(flow_rows, weights)[0]
        model = rng.choice(_MODELS)
        batch.append(
            Call(
                account_id=flow.account_id,
                flow=flow,
                api="chat.completions",
                requested_model=model,
                served_model=model,
                provider="openai",
                outcome=Call.Outcome.OK,
                http_status=200,
                input_tokens=rng.randint(200, 2000),
                output_tokens=rng.randint(20, 400),
                latency_ms=rng.lognormvariate(6.5, 0.4),
                cost_usd=Decimal(rng.randint(100, 9000)) / Decimal(1_000_000),
                priced=True,
                created_at=now - timedelta(seconds=rng.randint(0, 30 * 86_400)),
            )
        )
        if len(batch) == _BATCH:
            Call.objects.bulk_create(batch)
            batch = []
    Call.objects.bulk_create(batch)
    return flow_rows[0].pk


def _time(label: str, gather: Callable[[], Any], runs: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seconds, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            gather()
            seconds.append(time.perf_counter() - started)
        queries = len(captured)
    print(
        f"{label}: median {statistics.median(seconds) * 1000:.0f} ms, "
        f"slowest {max(seconds) * 1000:.0f} ms, {queries} queries ({runs} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--flows", type=int, default=40)
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    args = parser.parse_args()

    recreate_database(args.database_url)
    _setup(args.database_url)
    started = time.perf_counter()
    busiest = _fill(args.calls, args.flows, args.accounts)
    print(f"wrote {args.calls} calls in {time.perf_counter() - started:.0f} s")

    from django.db import connection

    from flows.models import Flow
    from llmtest import dashboard

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    flow = Flow.objects.select_related("account").get(pk=busiest)
    _time("index", dashboard.index_context, args.runs)
    _time("busiest flow's page", lambda: dashboard.flow_context(flow, None), args.runs)


if __name__ == "__main__":
    main()
