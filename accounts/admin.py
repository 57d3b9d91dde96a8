from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from accounts import selectors, services
from accounts.forms import CreditChangeForm
from accounts.models import Account, ApiKey, CreditEntry, Feedback
from llmtest import formats

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


def _credit_outlook_text(outlook: selectors.CreditOutlook) -> str:
    if outlook.days_left is None:
        runway = f"nothing charged in the last {selectors.BURN_WINDOW_DAYS} days"
    else:
        runway = f"{formats.days_left(outlook.days_left)} left at that rate"
    return (
        f"{formats.usd(outlook.credits_usd)} left; burning "
        f"{formats.usd(outlook.burn_per_day_usd)} a day (last "
        f"{selectors.BURN_WINDOW_DAYS} days' charges): {runway}."
    )


def _money(amount: Decimal) -> str:
    """Dollars as elsewhere in the admin, and the ledger's exact amount."""
    exact = formats.plain_decimal(amount)
    shown = formats.usd(amount)
    if shown in (f"${exact}", f"-${exact.lstrip('-')}"):
        return shown
    return f"{shown} ({exact})"


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    change_form_template = "admin/accounts/account_change_form.html"
    list_display = ["email", "credits", "spent", "created_at"]
    search_fields = ["email"]
    # The balance changes through ledger rows only (the credits action).
    exclude = ["credits_usd", "total_spent"]
    readonly_fields = [
        "credits",
        "credit_outlook",
        "spent",
        "created_at",
        "recent_ledger",
    ]
    # Every charged call is a ledger row, so the ledger is not an inline: a busy
    # account's page would render (and on save, validate) millions of rows.
    inlines = [ApiKeyInline]
    actions = ["change_credits", "create_key"]

    @admin.display(description="Credits", ordering="credits_usd")
    def credits(self, account: Account) -> str:
        return _money(account.credits_usd)

    @admin.display(description="Total spent", ordering="total_spent")
    def spent(self, account: Account) -> str:
        return _money(account.total_spent)

    @admin.display(description="Credit outlook")
    def credit_outlook(self, account: Account) -> str:
        if account.pk is None:
            return "—"
        outlook = selectors.account_outlook(account)
        text = _credit_outlook_text(outlook)
        if outlook.low:
            return format_html(
                '<strong class="errornote">Low on credit: {}</strong>', text
            )
        return text

    @admin.display(description="Ledger")
    def recent_ledger(self, account: Account) -> str:
        if account.pk is None:
            return "—"
        entries = account.ledger.order_by("-created_at", "-id")[:_RECENT_LEDGER_ROWS]
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td style="text-align: right">{}</td>'
            "<td>{}</td></tr>",
            (
                (
                    date_format(localtime(entry.created_at), "Y-m-d H:i:s"),
                    entry.get_kind_display(),
                    formats.plain_decimal(entry.amount_usd),
                    entry.note,
                )
                for entry in entries
            ),
        )
        everything = reverse("admin:accounts_creditentry_changelist")
        return format_html(
            '<table id="account-ledger"><thead><tr><th>When</th><th>Kind</th>'
            "<th>USD</th><th>Reason</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}?account__id__exact={}">All ledger entries</a></p>',
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
            # The list's action posts back to the list; one account's page posts
            # to its own credits URL, which needs no action fields.
            "action": "change_credits" if "action" in request.POST else "",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounts/change_credits.html", context)

    def get_urls(self) -> list[URLPattern]:
        # Ahead of the defaults, whose "<object_id>/" pattern would catch it.
        return [
            path(
                "<path:object_id>/credits/",
                self.admin_site.admin_view(self.credits_view),
                name="accounts_account_credits",
            ),
            *super().get_urls(),
        ]

    def credits_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change-credits form for one account, from its page's button."""
        account = self.get_object(request, unquote(object_id))
        if account is None:
            raise Http404(f"No account with id {object_id}.")
        if not self.has_change_permission(request, account):
            raise PermissionDenied
        response = self.change_credits(request, Account.objects.filter(pk=account.pk))
        if response is None:
            change = reverse("admin:accounts_account_change", args=[account.pk])
            return HttpResponseRedirect(change)
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        account = self.get_object(request, unquote(object_id))
        outlook = selectors.account_outlook(account) if account else None
        context = {
            **(extra_context or {}),
            "credit_warning": f"{outlook.warning}. {_credit_outlook_text(outlook)}"
            if outlook and outlook.low
            else "",
        }
        return super().change_view(request, object_id, form_url, context)

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
