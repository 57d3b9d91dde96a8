"""The REST endpoint of the model catalog (the /v1/* endpoints are in proxy.views)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from llmtest.openapi import errors
from proxy import selectors


def _price(allow_null: bool = False) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=20, decimal_places=10, coerce_to_string=False, allow_null=allow_null
    )


class PricesOutputSerializer(serializers.Serializer):
    """USD per million tokens; empty cache prices are charged at the input price."""

    input = _price()
    cached_input = _price(allow_null=True)
    cache_write = _price(allow_null=True)
    output = _price()


class CapabilitiesOutputSerializer(serializers.Serializer):
    tool_call = serializers.BooleanField(allow_null=True)
    reasoning = serializers.BooleanField(allow_null=True)
    attachment = serializers.BooleanField(allow_null=True)
    input_modalities = serializers.ListField(child=serializers.CharField())
    output_modalities = serializers.ListField(child=serializers.CharField())


class CatalogModelOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="entry.model")
    provider = serializers.CharField(source="entry.provider")
    name = serializers.CharField(source="entry.name")
    served_as = serializers.CharField(
        allow_null=True, help_text="The id to call this gateway with, if it serves it."
    )
    prices = PricesOutputSerializer(source="rates", allow_null=True)
    context_window = serializers.IntegerField(
        source="entry.context_window", allow_null=True
    )
    output_limit = serializers.IntegerField(
        source="entry.output_limit", allow_null=True
    )
    release_date = serializers.DateField(source="entry.release_date", allow_null=True)
    first_seen_at = serializers.DateTimeField(
        source="entry.first_seen_at", allow_null=True
    )
    deprecated = serializers.BooleanField(source="entry.deprecated")
    capabilities = CapabilitiesOutputSerializer(source="entry.capabilities")


class NewModelOutputSerializer(CatalogModelOutputSerializer):
    reason = serializers.ChoiceField(
        choices=["released", "first_seen"],
        help_text="Listed for its release date, or (none known) for when this "
        "gateway first saw it.",
    )


class TrendingModelOutputSerializer(CatalogModelOutputSerializer):
    reason = serializers.ChoiceField(choices=["growth"])
    calls_last_7d = serializers.IntegerField()
    calls_prev_7d = serializers.IntegerField()
    growth = serializers.FloatField(
        allow_null=True,
        help_text="(last 7 days - previous 7) / previous 7; null when the model had "
        "no calls the week before.",
    )


class CriteriaOutputSerializer(serializers.Serializer):
    new_days = serializers.IntegerField()
    window_days = serializers.IntegerField()
    min_calls = serializers.IntegerField()


class TrendingOutputSerializer(serializers.Serializer):
    new = NewModelOutputSerializer(many=True)
    trending = TrendingModelOutputSerializer(many=True)
    criteria = CriteriaOutputSerializer()


class TrendingModelsApi(APIView):
    """GET /api/models/trending: models new to the world or to this gateway, and
    the models whose calls through it grow fastest (counts over all accounts)."""

    @extend_schema(
        operation_id="models_trending",
        responses={200: TrendingOutputSerializer, **errors()},
    )
    def get(self, request: Request) -> Response:
        result = selectors.trending()
        return Response(TrendingOutputSerializer(result).data)
