"""The shapes of a benchmark's SSE events and of its result, for the OpenAPI schema.

The events are written by benchmarks.events and the result by
benchmarks.results.aggregate; these serializers describe them and render nothing.
"""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema_field,
)
from rest_framework import serializers

from benchmarks.models import Benchmark

_STAGES = ["queued", "running", "answering", "judging", "aggregating"]


class ProgressEventSerializer(serializers.Serializer):
    """The data of a `progress` event."""

    stage = serializers.ChoiceField(choices=_STAGES)
    done = serializers.IntegerField(help_text="Steps finished so far.")
    total = serializers.IntegerField(
        help_text="Steps in the run: samples * (1 + 2 * challengers)."
    )
    model = serializers.CharField(
        allow_null=True, help_text="The model the step was for."
    )
    message = serializers.CharField()
    at = serializers.FloatField(help_text="Unix time of the event, in seconds.")


class SpendSerializer(serializers.Serializer):
    models_usd = serializers.FloatField(allow_null=True)
    judge_usd = serializers.FloatField(allow_null=True)
    total_usd = serializers.FloatField(allow_null=True)


class RunErrorEventSerializer(serializers.Serializer):
    """The data of an `error` event: why the run ended without a result."""

    message = serializers.CharField()
    code = serializers.CharField(
        help_text="e.g. baseline_failed, stalled, no_worker, failed."
    )
    spend = SpendSerializer(
        required=False, help_text="What the run's calls cost until it ended."
    )


class IntervalSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()


class ModelFiguresSerializer(serializers.Serializer):
    model = serializers.CharField()
    answered = serializers.IntegerField()
    failed = serializers.IntegerField()
    first_error = serializers.CharField(allow_null=True)
    mean_cost_usd = serializers.FloatField(allow_null=True)
    monthly_cost_usd = serializers.FloatField(allow_null=True)
    priced = serializers.BooleanField()
    p50_latency_ms = serializers.FloatField(allow_null=True)
    p95_latency_ms = serializers.FloatField(allow_null=True)
    spend_usd = serializers.FloatField(allow_null=True)


class ChallengerResultSerializer(ModelFiguresSerializer):
    wins = serializers.IntegerField()
    ties = serializers.IntegerField()
    losses = serializers.IntegerField()
    # The metaclass moves fields off the class, so Serializer.errors is not shadowed.
    errors = serializers.IntegerField(  # type: ignore[assignment]
        help_text="Samples not judged."
    )
    judged = serializers.IntegerField()
    compared = serializers.IntegerField()
    win_or_tie_rate = serializers.FloatField(allow_null=True)
    interval = IntervalSerializer(help_text="95% Wilson interval of win_or_tie_rate.")
    win_rate = serializers.FloatField(allow_null=True)
    win_interval = IntervalSerializer(help_text="95% Wilson interval of win_rate.")
    cost_change_pct = serializers.FloatField(allow_null=True)
    latency_change_ms = serializers.FloatField(allow_null=True)
    latency_change_pct = serializers.FloatField(allow_null=True)
    summary = serializers.CharField()
    recommended = serializers.BooleanField()


class QualitySerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=["win_rate", "win_or_tie_rate"])
    rate = serializers.FloatField(allow_null=True)
    low = serializers.FloatField()
    high = serializers.FloatField()
    bar = serializers.FloatField()
    wins = serializers.IntegerField()
    ties = serializers.IntegerField()
    losses = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]


class RecommendationSerializer(serializers.Serializer):
    model = serializers.CharField(
        allow_null=True, help_text="The recommended challenger; null when none is."
    )
    summary = serializers.CharField()
    reason = serializers.CharField()
    cost_change_pct = serializers.FloatField(allow_null=True)
    latency_change_ms = serializers.FloatField(allow_null=True)
    monthly_cost_usd_current = serializers.FloatField(allow_null=True)
    monthly_cost_usd_suggested = serializers.FloatField(allow_null=True)
    quality = QualitySerializer(allow_null=True)
    more_samples_needed = serializers.IntegerField(allow_null=True)


class BenchmarkResultSerializer(serializers.Serializer):
    """A finished run's result: the data of its `result` event."""

    benchmark_id = serializers.UUIDField()
    flow = serializers.CharField()
    current_model = serializers.CharField()
    optimize_for = serializers.ChoiceField(choices=Benchmark.Goal.choices)
    judge_model = serializers.CharField()
    samples = serializers.IntegerField()
    monthly_calls = serializers.IntegerField(
        help_text="The flow's calls of the last 7 days, scaled to 30 days."
    )
    baseline = ModelFiguresSerializer()
    challengers = ChallengerResultSerializer(many=True)
    recommendation = RecommendationSerializer()
    spend = SpendSerializer()
    suggestion_id = serializers.IntegerField(
        required=False, help_text="The suggestion filed, when one was."
    )


@extend_schema_field(BenchmarkResultSerializer(allow_null=True))
class BenchmarkResultField(serializers.JSONField):
    """A Benchmark's stored `result` (null until it is done)."""


STREAM_DESCRIPTION = (
    "A `text/event-stream`. It opens with a `: stream open` comment; then come "
    "`progress` events, and last exactly one `result` event (a BenchmarkResult) or "
    "`error` event (a RunErrorEvent). Each event has an `id:` (resume after it with "
    "`GET /api/benchmark/{id}/events` and `Last-Event-ID`), an `event:` name and "
    "one `data:` line of JSON in the shape below for its name. A `:` comment is sent "
    "every SSE_HEARTBEAT_S seconds of silence. The run's id is in the `X-Benchmark-Id` "
    "header and its JSON in `Location`."
)

_EXAMPLE_STREAM = (
    ": stream open\n\n"
    "id: 1\nevent: progress\n"
    'data: {"stage": "queued", "done": 0, "total": 30, "model": null, '
    '"message": "Queued: 10 samples on 2 models, judged by gpt-4o-mini.", '
    '"at": 1764842400.0}\n\n'
    "id: 2\nevent: progress\n"
    'data: {"stage": "answering", "done": 1, "total": 30, "model": "gpt-4o", '
    '"message": "gpt-4o answered a sample.", "at": 1764842400.4}\n\n'
    "id: 32\nevent: result\n"
    'data: {"benchmark_id": "…", "flow": "support-bot", …}\n\n'
)


def event_stream_response() -> OpenApiResponse:
    """The 200 of both SSE endpoints: each event's data is one of three shapes."""
    return OpenApiResponse(
        PolymorphicProxySerializer(
            component_name="BenchmarkEventData",
            serializers=[
                ProgressEventSerializer,
                BenchmarkResultSerializer,
                RunErrorEventSerializer,
            ],
            resource_type_field_name=None,
        ),
        description=STREAM_DESCRIPTION,
        examples=[
            OpenApiExample(
                "A run's stream", value=_EXAMPLE_STREAM, media_type="text/event-stream"
            )
        ],
    )
