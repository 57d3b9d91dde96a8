"""Reads over suggestions, always scoped to one account."""

from django.db.models import QuerySet

from suggestions.models import Suggestion


def pending_count(account_id: int) -> int:
    """Suggestions waiting for a decision."""
    return Suggestion.objects.filter(
        account_id=account_id, status=Suggestion.Status.PENDING
    ).count()


def suggestion_list(account_id: int, status: str) -> QuerySet[Suggestion]:
    """The account's suggestions in one status, newest first."""
    return (
        Suggestion.objects.filter(account_id=account_id, status=status)
        .select_related("flow")
        .order_by("-created_at", "-id")
    )


def suggestion_get(account_id: int, suggestion_id: int) -> Suggestion | None:
    """One of the account's suggestions; None when it has no such suggestion."""
    return (
        Suggestion.objects.filter(account_id=account_id, pk=suggestion_id)
        .select_related("flow")
        .first()
    )
