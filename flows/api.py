from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_account
from flows import samples, selectors
from flows.fields import FlowNameField
from llmtest.openapi import errors


class FlowStatsOutputSerializer(serializers.Serializer):
    flow = serializers.CharField()
    model = serializers.CharField()
    calls = serializers.IntegerField()
    avg_latency_ms = serializers.FloatField()
    total_cost_usd = serializers.DecimalField(
        max_digits=20, decimal_places=10, coerce_to_string=False
    )
    p50_latency_ms = serializers.FloatField()
    p95_latency_ms = serializers.FloatField()
    failed_calls = serializers.IntegerField()
    unpriced_calls = serializers.IntegerField()
    # Calls whose provider reported no usage, priced from estimated token counts.
    estimated_calls = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    last_call_at = serializers.DateTimeField()


class FlowListApi(APIView):
    """GET /api/flows: one row per flow and model, with latency and exact cost."""

    @extend_schema(
        operation_id="flows_list",
        responses={200: FlowStatsOutputSerializer(many=True), **errors()},
    )
    def get(self, request: Request) -> Response:
        rows = selectors.flow_model_stats(request_account(request).pk)
        return Response(FlowStatsOutputSerializer(rows, many=True).data)


class SamplesAddInputSerializer(serializers.Serializer):
    flow = FlowNameField()
    samples = serializers.ListField(allow_empty=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        """Check each sample; an error names it, as in `samples[3][1].role`."""
        limit = settings.SAMPLES_MAX_PER_REQUEST
        if len(data["samples"]) > limit:
            raise serializers.ValidationError(
                {"samples": f"At most {limit} samples per request."}
            )
        for index, sample in enumerate(data["samples"]):
            try:
                samples.check_sample(sample)
            except samples.SampleInvalid as error:
                where = f"samples[{index}]{error.where}"
                raise serializers.ValidationError({where: error.message}) from error
        return data


class SampleMessageSerializer(serializers.Serializer):
    """One message of a sample, as the schema shows it (samples.check_sample checks
    it, so that an error can name its place)."""

    role = serializers.ChoiceField(choices=samples.ROLES)
    content = serializers.CharField(
        help_text="Text, or an array of text parts ({type: text, text})."
    )
    name = serializers.CharField(required=False)
    tool_call_id = serializers.CharField(required=False)


# What POST /api/samples takes, with the samples' inner shape spelled out.
_SAMPLES_ADD_SCHEMA = inline_serializer(
    "SamplesAddInput",
    fields={
        "flow": FlowNameField(),
        "samples": serializers.ListField(
            child=serializers.ListField(child=SampleMessageSerializer(), min_length=1),
            min_length=1,
        ),
    },
)


class SamplesAddOutputSerializer(serializers.Serializer):
    flow = serializers.CharField()
    added = serializers.IntegerField()
    skipped = serializers.IntegerField()
    total = serializers.IntegerField()


class FlowSamplesOutputSerializer(serializers.Serializer):
    flow = serializers.CharField()
    samples = serializers.IntegerField()
    captured = serializers.IntegerField()
    seeded = serializers.IntegerField()
    ready = serializers.BooleanField()
    needed = serializers.IntegerField()
    minimum = serializers.IntegerField()


class SamplesApi(APIView):
    """GET /api/samples: every flow with its sample counts and benchmark readiness.
    POST /api/samples: seed conversations for a flow."""

    @extend_schema(
        operation_id="samples_list",
        responses={200: FlowSamplesOutputSerializer(many=True), **errors()},
    )
    def get(self, request: Request) -> Response:
        rows = selectors.flow_sample_counts(request_account(request).pk)
        return Response(FlowSamplesOutputSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="samples_add",
        request=_SAMPLES_ADD_SCHEMA,
        examples=[
            OpenApiExample(
                "Two support conversations",
                value={
                    "flow": "support-bot",
                    "samples": [
                        [
                            {"role": "system", "content": "You are a support agent."},
                            {"role": "user", "content": "I cannot log in."},
                        ],
                        [{"role": "user", "content": "Where is my refund?"}],
                    ],
                },
                request_only=True,
            )
        ],
        responses={201: SamplesAddOutputSerializer, **errors(400, 413)},
    )
    def post(self, request: Request) -> Response:
        given = SamplesAddInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)

        result = samples.samples_add(
            request_account(request),
            given.validated_data["flow"],
            given.validated_data["samples"],
        )

        output = SamplesAddOutputSerializer(result).data
        return Response(output, status=status.HTTP_201_CREATED)
