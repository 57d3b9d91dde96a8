"""POST /api/benchmark (an SSE stream), its resumable event stream, and the runs."""

import json
import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_account
from benchmarks import relay, runs, services, watchdog
from benchmarks.models import Benchmark
from benchmarks.schema import BenchmarkResultField, event_stream_response
from flows.fields import FlowNameField
from flows.models import FLOW_NAME_PATTERN
from llmtest.errors import GatewayError
from llmtest.fields import StrictCharField
from llmtest.openapi import errors

_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class EventStreamRenderer(renderers.BaseRenderer):
    """Lets DRF accept `Accept: text/event-stream` (it answers 406 otherwise).

    The streams themselves are written by the relay; what DRF renders with this is
    an error raised before a stream starts, sent as one `error` event.
    """

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return f"event: error\ndata: {json.dumps(data)}\n\n".encode()


def _stream(benchmark_id: UUID, after: int) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        relay.stream(benchmark_id, after),
        content_type="text/event-stream; charset=utf-8",
        headers=_STREAM_HEADERS,
    )
    response["Location"] = f"/api/benchmarks/{benchmark_id}"
    response["X-Benchmark-Id"] = str(benchmark_id)
    return response


class BenchmarkInputSerializer(serializers.Serializer):
    flow = FlowNameField()
    currentModel = StrictCharField(required=False, allow_null=True, max_length=200)
    optimizeFor = serializers.ChoiceField(
        choices=Benchmark.Goal.values, default=Benchmark.Goal.BALANCED
    )
    challengers = serializers.ListField(
        child=StrictCharField(max_length=200),
        required=False,
        allow_null=True,
        # An empty list names no model; leaving the field out lets the gateway pick.
        allow_empty=False,
        max_length=settings.BENCHMARK_MAX_CHALLENGERS,
    )


class BenchmarkCreateApi(APIView):
    """POST /api/benchmark: start a run and stream its progress as it happens."""

    renderer_classes = [renderers.JSONRenderer, EventStreamRenderer]

    @extend_schema(
        operation_id="benchmark_start",
        tags=["benchmarks"],
        request=BenchmarkInputSerializer,
        examples=[
            OpenApiExample(
                "Cheaper models for a support bot",
                value={
                    "flow": "support-bot",
                    "currentModel": "gpt-4o",
                    "optimizeFor": "cost",
                    "challengers": ["gpt-4o-mini"],
                },
                request_only=True,
            )
        ],
        responses={
            (200, "text/event-stream"): event_stream_response(),
            **errors(400, 402, 404, 503),
        },
        description="Start a benchmark of the flow and stream its progress (SSE).",
    )
    def post(self, request: Request) -> StreamingHttpResponse:
        incoming = BenchmarkInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        benchmark = services.benchmark_start(
            request_account(request),
            data["flow"],
            current_model=data.get("currentModel"),
            optimize_for=data["optimizeFor"],
            challengers=data.get("challengers"),
        )
        return _stream(benchmark.pk, after=0)


class BenchmarkEventsApi(APIView):
    """GET /api/benchmark/<id>/events: the run's events after Last-Event-ID."""

    renderer_classes = [renderers.JSONRenderer, EventStreamRenderer]

    @extend_schema(
        operation_id="benchmark_events",
        tags=["benchmarks"],
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                description="Only the events after this one (0: all).",
            ),
            OpenApiParameter(
                "lastEventId",
                OpenApiTypes.INT,
                description="The same, for clients that cannot set the header.",
            ),
        ],
        responses={
            (200, "text/event-stream"): event_stream_response(),
            (204, None): OpenApiResponse(
                description="The run's last event was delivered already: "
                "nothing more will come (an EventSource stops reconnecting)."
            ),
            **errors(400, 404),
        },
        description="A run's events again, live until its end.",
    )
    def get(
        self, request: Request, benchmark_id: UUID
    ) -> StreamingHttpResponse | HttpResponse:
        benchmark = _own(request, benchmark_id)
        raw = request.headers.get("Last-Event-ID") or request.query_params.get(
            "lastEventId", "0"
        )
        # ASCII digits only (str.isdigit takes '²' and '٣'), and few enough of them
        # for an event id.
        if not re.fullmatch(r"[0-9]{1,18}", raw.strip()):
            raise GatewayError(
                400,
                "Last-Event-ID must be the id of an event of this stream (a number).",
                code="invalid",
                param="Last-Event-ID",
            )
        after = int(raw.strip())
        why = relay.resume_check(benchmark.pk, after)
        if why == "ended":
            # 204 tells an EventSource to stop reconnecting: the run's last event
            # has been delivered already.
            return HttpResponse(status=204, headers=_STREAM_HEADERS)
        if why == "unknown":
            raise GatewayError(
                400,
                f"This benchmark's stream has no event {after} yet.",
                code="unknown_event_id",
                param="Last-Event-ID",
            )
        return _stream(benchmark.pk, after=after)


def _own(request: Request, benchmark_id: UUID) -> Benchmark:
    return get_object_or_404(
        Benchmark.objects.select_related("flow"),
        pk=benchmark_id,
        account=request_account(request),
    )


class BenchmarkOutputSerializer(serializers.ModelSerializer):
    flow = serializers.CharField(source="flow.name")
    samples = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Benchmark
        fields = [
            "id",
            "flow",
            "status",
            "current_model",
            "challengers",
            "optimize_for",
            "judge_model",
            "samples",
            "total_steps",
            "summary",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_samples(self, benchmark: Benchmark) -> int:
        return benchmark.total_steps // (1 + 2 * max(len(benchmark.challengers), 0))

    def get_summary(self, benchmark: Benchmark) -> str | None:
        """The recommendation's one line, or why there is none."""
        recommendation = (benchmark.result or {}).get("recommendation") or {}
        if recommendation.get("model"):
            return str(recommendation.get("summary"))
        return recommendation.get("reason")


class BenchmarkDetailSerializer(BenchmarkOutputSerializer):
    done_steps = serializers.SerializerMethodField()
    result = BenchmarkResultField(read_only=True)

    class Meta(BenchmarkOutputSerializer.Meta):
        fields = [*BenchmarkOutputSerializer.Meta.fields, "done_steps", "result"]

    def get_done_steps(self, benchmark: Benchmark) -> int:
        return runs.steps_done(benchmark.pk)


class BenchmarkListApi(APIView):
    """GET /api/benchmarks: the caller's runs, newest first (?flow=, ?status=)."""

    @extend_schema(
        operation_id="benchmarks_list",
        parameters=[
            OpenApiParameter("flow", str, description="Only this flow's runs."),
            OpenApiParameter("status", str, enum=Benchmark.Status.values),
        ],
        responses={200: BenchmarkOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        account = request_account(request)
        watchdog.check_account(account.pk)
        rows = Benchmark.objects.filter(account=account).select_related("flow")
        if flow := request.query_params.get("flow"):
            # No flow has a name outside the pattern (and PostgreSQL refuses a NUL).
            if not re.fullmatch(FLOW_NAME_PATTERN, flow):
                raise GatewayError(
                    400,
                    "flow must be a flow name: 1-100 letters, digits and . _ : / -.",
                    param="flow",
                )
            rows = rows.filter(flow__name=flow)
        if status := request.query_params.get("status"):
            if status not in Benchmark.Status.values:
                raise GatewayError(
                    400,
                    "status must be one of: " + ", ".join(Benchmark.Status.values),
                    code="invalid",
                    param="status",
                )
            rows = rows.filter(status=status)
        return Response(BenchmarkOutputSerializer(rows[:100], many=True).data)


class BenchmarkDetailApi(APIView):
    """GET /api/benchmarks/<id>: one run, with its full result."""

    @extend_schema(
        operation_id="benchmarks_retrieve",
        responses={200: BenchmarkDetailSerializer, **errors(404)},
    )
    def get(self, request: Request, benchmark_id: UUID) -> Response:
        watchdog.check(benchmark_id)
        benchmark = _own(request, benchmark_id)
        return Response(BenchmarkDetailSerializer(benchmark).data)
