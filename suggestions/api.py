from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_account
from flows import selectors as flow_selectors
from llmtest.errors import GatewayError
from llmtest.openapi import errors
from suggestions import selectors, services
from suggestions.models import Suggestion

ACCEPT = "accept"
DISMISS = "dismiss"


class StatusOutputSerializer(serializers.Serializer):
    flows = serializers.IntegerField()
    calls = serializers.IntegerField()
    spend = serializers.DecimalField(
        max_digits=20, decimal_places=10, coerce_to_string=False
    )
    pendingSuggestions = serializers.IntegerField()


class StatusApi(APIView):
    """GET /api/status: the caller's flows, calls, spend and waiting suggestions."""

    @extend_schema(
        operation_id="status_retrieve",
        responses={200: StatusOutputSerializer, **errors()},
    )
    def get(self, request: Request) -> Response:
        account = request_account(request)
        activity = flow_selectors.account_activity(account.pk)
        data = {
            "flows": activity.flows,
            "calls": activity.calls,
            "spend": activity.spend,
            "pendingSuggestions": selectors.pending_count(account.pk),
        }
        return Response(StatusOutputSerializer(data).data)


class SuggestionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    flow = serializers.CharField(source="flow.name")
    current_model = serializers.CharField()
    suggested_model = serializers.CharField()
    optimize_for = serializers.CharField()
    summary = serializers.CharField()
    figures = serializers.JSONField()
    status = serializers.CharField()
    benchmark_id = serializers.UUIDField(allow_null=True)
    superseded_by = serializers.IntegerField(source="superseded_by_id", allow_null=True)
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class RouteOutputSerializer(serializers.Serializer):
    from_model = serializers.CharField()
    to_model = serializers.CharField()


class SuggestionDecisionOutputSerializer(SuggestionOutputSerializer):
    route = RouteOutputSerializer(
        allow_null=True, help_text="The route an acceptance wrote; null otherwise."
    )


class SuggestionListApi(APIView):
    """GET /api/suggestions?status=pending: the caller's suggestions, newest first."""

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=Suggestion.Status.choices, default=Suggestion.Status.PENDING
        )

    @extend_schema(
        operation_id="suggestions_list",
        parameters=[InputSerializer],
        responses={200: SuggestionOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        incoming = self.InputSerializer(data=request.query_params)
        incoming.is_valid(raise_exception=True)

        suggestions = selectors.suggestion_list(
            request_account(request).pk, incoming.validated_data["status"]
        )

        return Response(SuggestionOutputSerializer(suggestions, many=True).data)


class SuggestionDecideApi(APIView):
    """POST /api/suggestions/<id> {"action": "accept" | "dismiss"}.

    Accepting routes the flow's calls for the current model to the suggested one;
    the answer then carries that route (null after a dismissal).
    """

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=[ACCEPT, DISMISS])

        class Meta:
            ref_name = "SuggestionDecisionInput"

    @extend_schema(
        operation_id="suggestion_decide",
        request=InputSerializer,
        responses={200: SuggestionDecisionOutputSerializer, **errors(400, 404, 409)},
    )
    def post(self, request: Request, suggestion_id: int) -> Response:
        incoming = self.InputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        suggestion = selectors.suggestion_get(
            request_account(request).pk, suggestion_id
        )
        if suggestion is None:
            raise GatewayError(
                404, f"No suggestion with id {suggestion_id}.", code="not_found"
            )

        route = None
        if incoming.validated_data["action"] == ACCEPT:
            route = services.suggestion_accept(suggestion)
        else:
            services.suggestion_dismiss(suggestion)

        data = {
            **SuggestionOutputSerializer(suggestion).data,
            "route": None if route is None else RouteOutputSerializer(route).data,
        }
        return Response(data)
