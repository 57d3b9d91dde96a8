"""Money, amounts and runways as the admin writes them: plain decimals everywhere."""

from decimal import Decimal

import pytest

from llmtest import formats


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (Decimal(0), "$0.00"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("0.00041"), "$0.00041"),
        (0.00008, "$0.00008"),
        (0.0000048, "$0.0000048"),
        (0.0000123, "$0.0000123"),
        (Decimal("0.000123456"), "$0.000123"),
        (Decimal("1E-10"), "$0.0000000001"),
        (Decimal("-2.5"), "-$2.50"),
        (Decimal("-0.00005"), "-$0.00005"),
    ],
)
def test_money_reads_to_the_cent_or_in_plain_decimals_below_it(value, shown):
    assert formats.usd(value) == shown


def test_money_is_never_written_with_an_exponent():
    for exponent in range(-12, 10):
        assert "e" not in formats.usd(10.0**exponent).lower()


@pytest.mark.parametrize(
    ("ticks", "labels"),
    [
        (
            [0, 0.0025, 0.005, 0.0075, 0.01, 0.0125],
            ["$0.0000", "$0.0025", "$0.0050", "$0.0075", "$0.0100", "$0.0125"],
        ),
        ([0, 0.5, 1, 1.5], ["$0.00", "$0.50", "$1.00", "$1.50"]),
        ([0, 2e-05, 4e-05, 6e-05], ["$0.00000", "$0.00002", "$0.00004", "$0.00006"]),
        ([0, 1000, 2000], ["$0.00", "$1,000.00", "$2,000.00"]),
    ],
)
def test_tick_labels_share_the_precision_their_step_needs(ticks, labels):
    assert formats.usd_ticks(ticks) == labels


def test_tick_labels_are_distinct_for_every_nice_step():
    from llmtest.charts import nice_ticks

    for high in (0.0125, 0.00013, 0.7, 3.3, 0.000001, 12.5, 0.0333):
        labels = formats.usd_ticks(nice_ticks(0, high))
        assert len(set(labels)) == len(labels), labels


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1E-10"), "0.0000000001"),
        (Decimal("-0.0000500000"), "-0.00005"),
        (Decimal("5.0000000000"), "5"),
        (Decimal("12.3400"), "12.34"),
        (Decimal(0), "0"),
        (Decimal("0E-10"), "0"),
    ],
)
def test_ledger_amounts_are_plain_decimals(value, shown):
    assert formats.plain_decimal(value) == shown


def test_days_left_reads_as_words_at_the_ends():
    assert formats.days_left(None) == "no spend in 7 days"
    assert formats.days_left(None, 30) == "no spend in 30 days"
    assert formats.days_left(400.0) == "over a year"
    assert formats.days_left(12.34) == "12.3 days"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("-0.000128"), "-$0.000128"),
        (Decimal("1234.5"), "$1,234.500000"),
        (0.0, "$0.000000"),
    ],
)
def test_fixed_dollars_put_the_sign_before_the_dollar(value, text):
    assert formats.usd_fixed(value) == text
