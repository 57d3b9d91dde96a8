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


def pending_everywhere(limit: int) -> tuple[list[Suggestion], int]:
    """Every account's pending suggestions, newest first, at most `limit` of them,
    and how many are pending in all (two queries): the admin dashboard's list."""
    pending = Suggestion.objects.filter(status=Suggestion.Status.PENDING)
    newest = pending.select_related("flow", "account").order_by("-created_at", "-id")
    return list(newest[:limit]), pending.count()


def flow_pending(flow_id: int) -> list[Suggestion]:
    """The flow's pending suggestions, newest first (at most one stays pending: a
    newer one supersedes the older)."""
    pending = Suggestion.objects.filter(
        flow_id=flow_id, status=Suggestion.Status.PENDING
    )
    return list(pending.select_related("flow").order_by("-created_at", "-id"))
