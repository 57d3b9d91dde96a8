from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_account
from flows import selectors as flow_selectors
from suggestions import selectors


class StatusOutputSerializer(serializers.Serializer):
    flows = serializers.IntegerField()
    calls = serializers.IntegerField()
    spend = serializers.DecimalField(
        max_digits=20, decimal_places=10, coerce_to_string=False
    )
    pendingSuggestions = serializers.IntegerField()


class StatusApi(APIView):
    """GET /api/status: the caller's flows, calls, spend and waiting suggestions."""

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
