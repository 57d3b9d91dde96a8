from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers
from accounts.authentication import request_account, request_identity
from accounts.models import Feedback
from llmtest.openapi import errors


class AccountApi(APIView):
    """GET /api/account: the caller's account, with the key used shown masked."""

    @extend_schema(
        operation_id="account_retrieve",
        responses={200: serializers.AccountOutputSerializer, **errors()},
    )
    def get(self, request: Request) -> Response:
        account = request_account(request)
        data = {
            "email": account.email,
            "credits_usd": account.credits_usd,
            "total_spent": account.total_spent,
            "api_key": request_identity(request).masked,
            "created_at": account.created_at,
        }
        return Response(serializers.AccountOutputSerializer(data).data)


class FeedbackCreateApi(APIView):
    """POST /api/feedback: store a rating and what the agent was doing."""

    @extend_schema(
        operation_id="feedback_create",
        request=serializers.FeedbackInputSerializer,
        responses={201: serializers.FeedbackOutputSerializer, **errors(400)},
    )
    def post(self, request: Request) -> Response:
        incoming = serializers.FeedbackInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)

        feedback = Feedback.objects.create(
            account=request_account(request), **incoming.validated_data
        )

        return Response(serializers.FeedbackOutputSerializer(feedback).data, status=201)
