from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_account
from flows import selectors


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
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    last_call_at = serializers.DateTimeField()


class FlowListApi(APIView):
    """GET /api/flows: one row per flow and model, with latency and exact cost."""

    def get(self, request: Request) -> Response:
        rows = selectors.flow_model_stats(request_account(request).pk)
        return Response(FlowStatsOutputSerializer(rows, many=True).data)
