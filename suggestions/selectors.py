def pending_count(account_id: int) -> int:
    """Suggestions waiting for a decision.

    Benchmarks are what file suggestions, and the suggestion table arrives with them;
    until then no account can have one waiting.
    """
    return 0
