from decimal import Decimal

from django import forms

from accounts import services
from accounts.models import CreditEntry


class CreditChangeForm(forms.Form):
    """Top-up, adjustment or refund from the admin; every one becomes a ledger row."""

    kind = forms.ChoiceField(
        choices=[
            (CreditEntry.Kind.TOPUP, "Top-up"),
            (CreditEntry.Kind.ADJUSTMENT, "Adjustment"),
            (CreditEntry.Kind.REFUND, "Refund"),
        ]
    )
    amount_usd = forms.DecimalField(
        max_digits=20,
        decimal_places=10,
        help_text=(
            f"USD, at most {services.MAX_CREDIT_CHANGE_USD:,} at a time. Negative "
            "only for an adjustment that takes credits away."
        ),
    )
    # Every change names its reason (an invoice, a goodwill credit, a correction):
    # the ledger row keeps it.
    note = forms.CharField(
        label="Reason",
        max_length=200,
        help_text="Kept on the ledger row, e.g. 'invoice 2026-114'.",
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        amount = data.get("amount_usd")
        if amount is None:
            return data
        try:
            services.credit_amount_check(amount)
        except ValueError as error:
            self.add_error("amount_usd", str(error))
            return data
        if amount < Decimal(0) and data.get("kind") != CreditEntry.Kind.ADJUSTMENT:
            self.add_error("amount_usd", "Only an adjustment can be negative.")
        return data
