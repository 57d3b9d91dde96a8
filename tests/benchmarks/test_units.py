"""Wilson intervals, verdict parsing and combining, without a database."""

import pytest

from benchmarks import relay
from benchmarks.judge import combine, judge_messages, parse_verdict
from benchmarks.results import recommend
from benchmarks.stats import samples_needed, wilson_interval


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Reference values of the 95% Wilson score interval (z = 1.96).
        (8, 10, 0.4902, 0.9433),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
        (1, 2, 0.0945, 0.9055),
    ],
)
def test_wilson_interval_matches_known_values(successes, n, low, high):
    got_low, got_high = wilson_interval(successes, n)
    assert got_low == pytest.approx(low, abs=5e-4)
    assert got_high == pytest.approx(high, abs=5e-4)


def test_wilson_interval_without_trials_is_everything():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_refuses_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_samples_needed():
    # At a 90% rate, 21 trials put the lower bound at 70% or above; 20 do not.
    assert samples_needed(0.9, 0.7, 10) == 21
    assert wilson_interval(round(0.9 * 21), 21)[0] >= 0.7
    assert samples_needed(0.9, 0.7, 50) == 50
    # No number of trials lifts a 60% rate over a 70% bar.
    assert samples_needed(0.6, 0.7, 10) is None
    assert samples_needed(0.7, 0.7, 10) is None


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"winner": "A", "reason": "clearer"}', ("A", "clearer")),
        ('{"winner": "b"}', ("B", "")),
        ('{"winner": "TIE", "reason": "same"}', ("tie", "same")),
        ('```json\n{"winner": "B", "reason": "x"}\n```', ("B", "x")),
        ('Sure! {"winner": "A", "reason": "y"} Hope that helps.', ("A", "y")),
    ],
)
def test_parse_verdict_reads_json_replies(reply, expected):
    assert parse_verdict(reply) == expected


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "A is better",
        '{"winner": "C"}',
        '{"choice": "A"}',
        "[1, 2]",
        '{"winner": null}',
    ],
)
def test_parse_verdict_refuses_everything_else(reply):
    assert parse_verdict(reply) is None


@pytest.mark.parametrize(
    ("first", "second", "verdict"),
    [
        # first: baseline as A; second: challenger as A.
        ("B", "A", "win"),
        ("A", "B", "loss"),
        ("tie", "tie", "tie"),
        # A judge that always picks the first position: never a win or loss.
        ("A", "A", "tie"),
        ("B", "B", "tie"),
        ("B", "tie", "tie"),
        (None, "A", "error"),
        ("B", None, "error"),
    ],
)
def test_combine_counts_only_agreeing_orders(first, second, verdict):
    assert combine(first, second) == verdict


def test_judge_prompt_holds_the_conversation_and_both_answers():
    messages = judge_messages(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi?"}]},
        ],
        "first answer",
        "second answer",
    )
    assert messages[0]["role"] == "system"
    assert "JSON" in messages[0]["content"]
    user = messages[1]["content"]
    assert "[system]\nBe brief." in user
    assert "[user]\nHi?" in user
    assert user.index("first answer") < user.index("second answer")
    assert "<answer_A>\nfirst answer\n</answer_A>" in user


def _row(model, cost_pct, latency_pct, latency_ms, wins=30, ties=0, losses=0):
    compared = wins + ties + losses
    return {
        "model": model,
        "summary": model,
        "compared": compared,
        "wins": wins,
        "ties": ties,
        "losses": losses,
        "errors": 0,
        "win_or_tie_rate": (wins + ties) / compared,
        "interval": {"low": 0.9, "high": 1.0},
        "win_rate": wins / compared,
        "win_interval": {"low": 0.9, "high": 1.0},
        "mean_cost_usd": 1.0 + cost_pct / 100,
        "monthly_cost_usd": None,
        "p50_latency_ms": 1000 + latency_ms,
        "cost_change_pct": cost_pct,
        "latency_change_pct": latency_pct,
        "latency_change_ms": latency_ms,
    }


_BASELINE = {"monthly_cost_usd": None}


@pytest.mark.parametrize(
    ("goal", "row", "recommended"),
    [
        # Latency noise: 3% and 30 ms faster is not faster.
        ("speed", _row("m", 0.0, -3.0, -30.0), False),
        ("speed", _row("m", 0.0, -12.0, -40.0), False),  # under 50 ms
        ("speed", _row("m", 0.0, -12.0, -120.0), True),
        ("balanced", _row("m", 0.0, -4.0, -40.0), False),
        ("balanced", _row("m", -2.0, 0.0, 0.0), False),
        ("balanced", _row("m", -30.0, 5.0, 50.0), True),
        ("cost", _row("m", -4.9, 0.0, 0.0), False),
        ("cost", _row("m", -5.0, 0.0, 0.0), True),
    ],
)
def test_changes_within_noise_are_not_recommended(goal, row, recommended, settings):
    settings.BENCHMARK_BAR_BALANCED = 0.75
    result = recommend(goal, [row], _BASELINE)

    assert (result["model"] == "m") is recommended
    if not recommended:
        assert "by a margin that counts" in result["reason"]


def test_a_streams_done_count_never_steps_back():
    counter = relay._Counter()
    published = [1, 3, 2, 4, 4, 3]

    shown = [counter.data("progress", {"done": done})["done"] for done in published]

    assert shown == [1, 3, 3, 4, 4, 4]
    assert counter.data("result", {"done": 0}) == {"done": 0}


def test_balanced_prefers_a_challenger_that_wins_to_one_that_only_ties(settings):
    settings.BENCHMARK_BAR_BALANCED = 0.75
    ties_only = _row("nano", -96.0, 0.0, 0.0, wins=0, ties=13)
    ties_only["win_interval"] = {"low": 0.0, "high": 0.23}
    winner = _row("mini", -94.0, 0.0, 0.0, wins=13)
    winner["win_interval"] = {"low": 0.77, "high": 1.0}

    assert recommend("balanced", [ties_only, winner], _BASELINE)["model"] == "mini"
    # Optimizing for cost, the cheaper one that clears the bar is the pick.
    assert recommend("cost", [ties_only, winner], _BASELINE)["model"] == "nano"
