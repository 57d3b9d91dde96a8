from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts import services
from accounts.forms import CreditChangeForm
from accounts.models import Account, ApiKey, CreditEntry, Feedback

# Newest ledger rows shown on an account's page; the rest are a link away.
_RECENT_LEDGER_ROWS = 20


def _credits_change_all(accounts: QuerySet[Account], change: dict[str, Any]) -> None:
    """Apply one credit change to every account, or (ValueError) to none."""
    with transaction.atomic():
        for account in accounts:
            services.credits_add(
                account, change["amount_usd"], change["kind"], change["note"]
            )


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["name", "masked", "created_at", "revoked_at"]
    readonly_fields = ["masked", "created_at", "revoked_at"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["email", "credits_usd", "total_spent", "created_at"]
    search_fields = ["email"]
    readonly_fields = ["credits_usd", "total_spent", "created_at", "recent_ledger"]
    # Every charged call is a ledger row, so the ledger is not an inline: a busy
    # account's page would render (and on save, validate) millions of rows.
    inlines = [ApiKeyInline]
    actions = ["change_credits", "create_key"]

    @admin.display(description="Ledger")
    def recent_ledger(self, account: Account) -> str:
        if account.pk is None:
            return "—"
        entries = account.ledger.order_by("-created_at", "-id")[:_RECENT_LEDGER_ROWS]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    entry.created_at,
                    entry.get_kind_display(),
                    entry.amount_usd,
                    entry.note,
                )
                for entry in entries
            ),
        )
        everything = reverse("admin:accounts_creditentry_changelist")
        return format_html(
            '<table>{}</table><p><a href="{}?account__id__exact={}">'
            "All ledger entries</a></p>",
            rows,
            everything,
            account.pk,
        )

    @admin.action(description="Add or adjust credits (writes a ledger row)")
    def change_credits(
        self, request: HttpRequest, queryset: QuerySet[Account]
    ) -> HttpResponse | None:
        form = CreditChangeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            try:
                _credits_change_all(queryset, form.cleaned_data)
            except ValueError as error:
                form.add_error("amount_usd", str(error))
            else:
                self.message_user(
                    request, f"Credits changed on {queryset.count()} account(s)."
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Change credits",
            "accounts": queryset,
            "form": form,
            "action": "change_credits",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounts/change_credits.html", context)

    @admin.action(description="Create an API key (shown once)")
    def create_key(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            _, raw = services.api_key_create(account, name="admin")
            self.message_user(
                request,
                f"New key for {account.email} (copy it now, it is not shown "
                f"again): {raw}",
                messages.WARNING,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["masked", "account", "name", "created_at", "revoked_at"]
    list_select_related = ["account"]
    list_filter = ["revoked_at"]
    search_fields = ["account__email", "name"]
    fields = ["account", "name", "masked", "created_at", "revoked_at"]
    readonly_fields = ["masked", "created_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(self.readonly_fields)
        return [*fields, "account"] if obj is not None else fields

    def save_model(
        self, request: HttpRequest, obj: ApiKey, form: Any, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = services.api_key_create(obj.account, obj.name)
        obj.pk, obj.start, obj.end = key.pk, key.start, key.end
        obj.key_hash, obj.created_at = key.key_hash, key.created_at
        self.message_user(
            request,
            f"New key (copy it now, it is not shown again): {raw}",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        propagated = [services.api_key_revoke(key) for key in queryset]
        self.message_user(request, f"Revoked {len(propagated)} key(s).")
        if not all(propagated):
            self.message_user(
                request,
                "Redis could not be reached: a worker that cached these keys may "
                f"accept them for up to {settings.AUTH_CACHE_TTL_S} more seconds.",
                messages.WARNING,
            )


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "kind", "amount_usd", "note"]
    list_select_related = ["account"]
    list_filter = ["kind", "created_at"]
    search_fields = ["account__email", "note"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "account",
        "rating",
        "agent_model",
        "agent_environment",
    ]
    list_select_related = ["account"]
    list_filter = ["rating", "agent_environment"]
    search_fields = ["comment", "task_summary", "agent_model"]
    readonly_fields = [
        "account",
        "rating",
        "comment",
        "agent_model",
        "agent_environment",
        "task_summary",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
