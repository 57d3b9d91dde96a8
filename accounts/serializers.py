from rest_framework import serializers

from accounts.models import Feedback
from llmtest.fields import StrictCharField, StrictIntegerField


class AccountOutputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    credits_usd = serializers.DecimalField(
        max_digits=20, decimal_places=10, coerce_to_string=False
    )
    total_spent = serializers.DecimalField(
        max_digits=20, decimal_places=10, coerce_to_string=False
    )
    api_key = serializers.CharField()
    created_at = serializers.DateTimeField()


class FeedbackInputSerializer(serializers.ModelSerializer):
    rating = StrictIntegerField(min_value=1, max_value=5)
    agent_model = StrictCharField(max_length=200)
    agent_environment = StrictCharField(max_length=200)
    comment = StrictCharField(required=False, allow_blank=True, max_length=10000)
    task_summary = StrictCharField(required=False, allow_blank=True, max_length=10000)

    class Meta:
        model = Feedback
        fields = [
            "rating",
            "comment",
            "agent_model",
            "agent_environment",
            "task_summary",
        ]


class FeedbackOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feedback
        fields = [
            "id",
            "rating",
            "comment",
            "agent_model",
            "agent_environment",
            "task_summary",
            "created_at",
        ]
