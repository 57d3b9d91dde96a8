import socket
import threading
from decimal import ROUND_HALF_UP, Decimal

import pytest

from proxy.pricing import (
    Rates,
    TokenUsage,
    catalog_cost,
    catalog_rates,
    cost_from_rates,
)

TEN_PLACES = Decimal("0.0000000001")
MILLION = Decimal(1_000_000)

OPENAI_USAGE_WITH_CACHE_AND_REASONING = {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 192,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}

ANTHROPIC_USAGE_WITH_CACHE = {
    "input_tokens": 21,
    "cache_creation_input_tokens": 1800,
    "cache_read_input_tokens": 4000,
    "cache_creation": {
        "ephemeral_5m_input_tokens": 1800,
        "ephemeral_1h_input_tokens": 0,
    },
    "output_tokens": 393,
    "service_tier": "standard",
}


def by_hand(usage: TokenUsage, rates: Rates) -> Decimal:
    """Price each token kind once, spelled out independently of the module."""
    cached_rate = rates.input if rates.cached_input is None else rates.cached_input
    write_rate = rates.input if rates.cache_write is None else rates.cache_write
    uncached = usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens
    total = (
        uncached * rates.input
        + usage.cached_input_tokens * cached_rate
        + usage.cache_write_tokens * write_rate
        + usage.output_tokens * rates.output
    ) / MILLION
    return total.quantize(TEN_PLACES, rounding=ROUND_HALF_UP)


# TokenUsage.from_openai


def test_from_openai_keeps_prompt_tokens_as_the_total_including_cached_tokens() -> None:
    usage = OPENAI_USAGE_WITH_CACHE_AND_REASONING

    result = TokenUsage.from_openai(usage)

    assert result == TokenUsage(
        input_tokens=2006,
        cached_input_tokens=1920,
        cache_write_tokens=0,
        output_tokens=300,
        reasoning_tokens=192,
    )
    assert result.uncached_input_tokens == 86


def test_from_openai_reads_usage_without_any_details() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46}

    result = TokenUsage.from_openai(usage)

    assert result == TokenUsage(input_tokens=12, output_tokens=34)


def test_from_openai_tolerates_null_details_and_null_counts() -> None:
    usage = {
        "prompt_tokens": 12,
        "completion_tokens": 34,
        "prompt_tokens_details": None,
        "completion_tokens_details": {"reasoning_tokens": None},
    }

    result = TokenUsage.from_openai(usage)

    assert result == TokenUsage(input_tokens=12, output_tokens=34)


def test_from_openai_returns_none_when_usage_is_none() -> None:
    usage = None

    result = TokenUsage.from_openai(usage)

    assert result is None


def test_from_openai_returns_none_when_no_token_counts_are_reported() -> None:
    usage: dict[str, int] = {}

    result = TokenUsage.from_openai(usage)

    assert result is None


def test_from_openai_reads_deepseek_prompt_cache_hit_tokens() -> None:
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 50,
        "prompt_cache_hit_tokens": 768,
        "prompt_cache_miss_tokens": 232,
    }

    result = TokenUsage.from_openai(usage)

    assert result == TokenUsage(
        input_tokens=1000, cached_input_tokens=768, output_tokens=50
    )


def test_from_openai_reads_openrouter_cache_write_tokens() -> None:
    usage = {
        "prompt_tokens": 194,
        "completion_tokens": 2,
        "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 100},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }

    result = TokenUsage.from_openai(usage)

    assert result == TokenUsage(
        input_tokens=194, cache_write_tokens=100, output_tokens=2
    )


def test_from_openai_reads_the_responses_api_shape() -> None:
    usage = {
        "input_tokens": 328,
        "input_tokens_details": {"cached_tokens": 128},
        "output_tokens": 52,
        "output_tokens_details": {"reasoning_tokens": 16},
        "total_tokens": 380,
    }

    result = TokenUsage.from_openai(usage)

    assert result == TokenUsage(
        input_tokens=328, cached_input_tokens=128, output_tokens=52, reasoning_tokens=16
    )


# TokenUsage.from_anthropic


def test_from_anthropic_adds_cache_reads_and_writes_to_input_tokens() -> None:
    usage = ANTHROPIC_USAGE_WITH_CACHE

    result = TokenUsage.from_anthropic(usage)

    assert result == TokenUsage(
        input_tokens=21 + 4000 + 1800,
        cached_input_tokens=4000,
        cache_write_tokens=1800,
        output_tokens=393,
    )
    assert result.uncached_input_tokens == 21


def test_from_anthropic_reads_usage_without_cache_fields() -> None:
    usage = {"input_tokens": 25, "output_tokens": 11}

    result = TokenUsage.from_anthropic(usage)

    assert result == TokenUsage(input_tokens=25, output_tokens=11)


def test_from_anthropic_treats_null_cache_fields_as_zero() -> None:
    usage = {
        "input_tokens": 25,
        "cache_creation_input_tokens": None,
        "cache_read_input_tokens": None,
        "output_tokens": 11,
    }

    result = TokenUsage.from_anthropic(usage)

    assert result == TokenUsage(input_tokens=25, output_tokens=11)


def test_from_anthropic_reads_a_streamed_delta_with_only_output_tokens() -> None:
    usage = {"output_tokens": 15}

    result = TokenUsage.from_anthropic(usage)

    assert result == TokenUsage(output_tokens=15)


def test_from_anthropic_returns_none_when_usage_is_none() -> None:
    usage = None

    result = TokenUsage.from_anthropic(usage)

    assert result is None


# TokenUsage


def test_uncached_input_tokens_is_never_negative() -> None:
    usage = TokenUsage(input_tokens=10, cached_input_tokens=8, cache_write_tokens=5)

    uncached = usage.uncached_input_tokens

    assert uncached == 0


def test_token_usage_rejects_negative_counts() -> None:
    negative = -1

    with pytest.raises(ValueError, match="output_tokens"):
        TokenUsage(output_tokens=negative)


# cost_from_rates


def test_cost_from_rates_prices_uncached_cached_and_output_tokens_exactly() -> None:
    usage = TokenUsage(input_tokens=1500, cached_input_tokens=500, output_tokens=200)
    rates = Rates(
        input=Decimal("2.50"), output=Decimal("10"), cached_input=Decimal("1.25")
    )

    cost = cost_from_rates(usage, rates)

    # 1000 x $2.50/M + 500 x $1.25/M + 200 x $10/M
    assert cost == Decimal("0.0025") + Decimal("0.000625") + Decimal("0.002")
    assert cost == Decimal("0.0051250000")


def test_cost_from_rates_prices_cache_writes_at_their_own_rate() -> None:
    usage = TokenUsage(
        input_tokens=5000,
        cached_input_tokens=3000,
        cache_write_tokens=1000,
        output_tokens=100,
    )
    rates = Rates(
        input=Decimal("3"),
        output=Decimal("15"),
        cached_input=Decimal("0.3"),
        cache_write=Decimal("3.75"),
    )

    cost = cost_from_rates(usage, rates)

    # 1000 x $3 + 3000 x $0.30 + 1000 x $3.75 + 100 x $15, per million
    assert cost == Decimal("0.0091500000")


def test_cost_from_rates_charges_unrated_cache_tokens_at_the_input_rate() -> None:
    usage = TokenUsage(
        input_tokens=3000, cached_input_tokens=1000, cache_write_tokens=1000
    )
    rates = Rates(input=Decimal("2"), output=Decimal("8"))

    cost = cost_from_rates(usage, rates)

    assert cost == Decimal("0.0060000000")


def test_cost_from_rates_does_not_charge_reasoning_tokens_twice() -> None:
    with_reasoning = TokenUsage(output_tokens=1000, reasoning_tokens=800)
    without_reasoning = TokenUsage(output_tokens=1000)
    rates = Rates(input=Decimal("1"), output=Decimal("4"))

    costs = (
        cost_from_rates(with_reasoning, rates),
        cost_from_rates(without_reasoning, rates),
    )

    assert costs == (Decimal("0.0040000000"), Decimal("0.0040000000"))


def test_cost_from_rates_rounds_half_up_to_ten_decimal_places() -> None:
    usage = TokenUsage(input_tokens=1)
    rates = Rates(input=Decimal("0.00005"), output=Decimal("0"))

    cost = cost_from_rates(usage, rates)

    # Exactly $0.00000000005: half-even would round it to zero.
    assert cost == Decimal("0.0000000001")
    assert cost.as_tuple().exponent == -10


def test_cost_from_rates_is_zero_for_empty_usage() -> None:
    usage = TokenUsage()
    rates = Rates(input=Decimal("2.5"), output=Decimal("10"))

    cost = cost_from_rates(usage, rates)

    assert cost == Decimal("0E-10")


# catalog_cost and catalog_rates


def test_catalog_cost_prices_gpt_4o_mini_at_its_catalog_rates() -> None:
    usage = TokenUsage(
        input_tokens=12_000, cached_input_tokens=4_000, output_tokens=900
    )
    rates = catalog_rates("gpt-4o-mini")

    cost = catalog_cost("gpt-4o-mini", usage)

    assert rates is not None
    assert cost == by_hand(usage, rates)
    assert cost is not None and cost > 0


def test_catalog_cost_resolves_a_dated_gpt_4o_snapshot() -> None:
    usage = TokenUsage(input_tokens=2_000, cached_input_tokens=1_024, output_tokens=350)
    rates = catalog_rates("gpt-4o-2024-08-06", "openai")

    cost = catalog_cost("gpt-4o-2024-08-06", usage, "openai")

    assert rates is not None
    assert rates == catalog_rates("gpt-4o", "openai")
    assert cost == by_hand(usage, rates)


def test_catalog_cost_prices_claude_cache_reads_and_writes_at_their_own_rates() -> None:
    usage = TokenUsage(
        input_tokens=21 + 4000 + 1800,
        cached_input_tokens=4000,
        cache_write_tokens=1800,
        output_tokens=393,
    )
    rates = catalog_rates("claude-3-5-sonnet-20241022", "anthropic")

    cost = catalog_cost("claude-3-5-sonnet-20241022", usage, "anthropic")

    assert rates is not None
    assert rates.cached_input is not None and rates.cached_input != rates.input
    assert rates.cache_write is not None and rates.cache_write != rates.input
    expected = (
        21 * rates.input
        + 4000 * rates.cached_input
        + 1800 * rates.cache_write
        + 393 * rates.output
    ) / MILLION
    assert cost == expected.quantize(TEN_PLACES, rounding=ROUND_HALF_UP)


def test_catalog_cost_strips_a_vendor_prefix_when_no_provider_is_given() -> None:
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)

    costs = (
        catalog_cost("openai/gpt-4o-mini", usage),
        catalog_cost("anthropic/claude-3-5-sonnet-20241022", usage),
    )

    assert costs == (
        catalog_cost("gpt-4o-mini", usage, "openai"),
        catalog_cost("claude-3-5-sonnet-20241022", usage, "anthropic"),
    )
    assert None not in costs


def test_catalog_cost_strips_a_redundant_prefix_for_the_named_provider() -> None:
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)

    cost = catalog_cost("openai/gpt-4o-mini", usage, "openai")

    assert cost is not None
    assert cost == catalog_cost("gpt-4o-mini", usage, "openai")


def test_catalog_cost_uses_openrouter_prices_for_an_openrouter_model_id() -> None:
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)
    rates = catalog_rates("anthropic/claude-3.5-sonnet", "openrouter")

    cost = catalog_cost("anthropic/claude-3.5-sonnet", usage, "openrouter")

    assert rates is not None
    assert cost == by_hand(usage, rates)


def test_catalog_cost_returns_none_for_an_unknown_model() -> None:
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)

    costs = (
        catalog_cost("definitely-not-a-model-7b", usage),
        catalog_cost("definitely-not-a-model-7b", usage, "openai"),
        catalog_cost("someone/definitely-not-a-model-7b", usage),
        catalog_cost("", usage),
    )

    assert costs == (None, None, None, None)


def test_catalog_cost_falls_back_to_model_matching_for_an_unknown_provider() -> None:
    usage = TokenUsage(input_tokens=1_000, cached_input_tokens=200, output_tokens=100)

    cost = catalog_cost("gpt-4o-mini", usage, "my-self-hosted-gateway")

    assert cost is not None
    assert cost == catalog_cost("gpt-4o-mini", usage, "openai")


def test_catalog_cost_returns_none_when_a_known_provider_lacks_the_model() -> None:
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)

    cost = catalog_cost("claude-3-5-sonnet-20241022", usage, "groq")

    assert cost is None


def test_catalog_cost_prices_reasoning_tokens_as_output_for_ordinary_models() -> None:
    with_reasoning = TokenUsage(
        input_tokens=100, output_tokens=1_000, reasoning_tokens=900
    )
    without_reasoning = TokenUsage(input_tokens=100, output_tokens=1_000)

    costs = (
        catalog_cost("gpt-4o-mini", with_reasoning),
        catalog_cost("gpt-4o-mini", without_reasoning),
    )

    assert costs[0] is not None
    assert costs[0] == costs[1]


def test_catalog_cost_trusts_cache_counts_that_exceed_the_reported_input() -> None:
    usage = TokenUsage(input_tokens=10, cached_input_tokens=100, output_tokens=5)
    rates = catalog_rates("gpt-4o-mini")

    cost = catalog_cost("gpt-4o-mini", usage)

    assert rates is not None
    assert cost == cost_from_rates(usage, rates)


def test_catalog_cost_returns_ten_decimal_places() -> None:
    usage = TokenUsage(input_tokens=1, output_tokens=1)

    cost = catalog_cost("gpt-4o-mini", usage)

    assert cost is not None
    assert cost.as_tuple().exponent == -10


def test_catalog_cost_and_rates_are_none_for_a_model_not_priced_per_token() -> None:
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)

    result = (catalog_cost("whisper-1", usage), catalog_rates("whisper-1"))

    assert result == (None, None)


def test_catalog_rates_returns_none_for_an_unknown_model() -> None:
    model = "definitely-not-a-model-7b"

    rates = catalog_rates(model)

    assert rates is None


def test_catalog_rates_shows_the_base_tier_of_tiered_prices() -> None:
    model = "claude-sonnet-4-5"

    rates = catalog_rates(model, "anthropic")

    assert rates is not None
    assert all(isinstance(rate, Decimal) for rate in (rates.input, rates.output))


def test_catalog_cost_works_offline_without_starting_a_price_updater(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("genai-prices tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)

    cost = catalog_cost("gpt-4.1-mini-2025-04-14", usage, "openai")

    assert cost is not None
    assert "genai_prices:update" not in {t.name for t in threading.enumerate()}
