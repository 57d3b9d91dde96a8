"""Wilson intervals, verdict parsing and combining, without a database."""

import pytest

from benchmarks.judge import combine, judge_messages, parse_verdict
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
