import json
import random

import pytest

from proxy.sse import SSEComment, SSEDecoder, SSEEvent


def decode_whole(stream: bytes) -> list[SSEEvent | SSEComment]:
    decoder = SSEDecoder()
    return decoder.feed(stream) + decoder.close()


def decode_in_chunks(chunks: list[bytes]) -> list[SSEEvent | SSEComment]:
    decoder = SSEDecoder()
    items: list[SSEEvent | SSEComment] = []
    for chunk in chunks:
        items += decoder.feed(chunk)
    return items + decoder.close()


def split_bytewise(stream: bytes) -> list[bytes]:
    return [stream[i : i + 1] for i in range(len(stream))]


def only_events(items: list[SSEEvent | SSEComment]) -> list[SSEEvent]:
    events = [item for item in items if isinstance(item, SSEEvent)]
    assert len(events) == len(items), "expected no comments"
    return events


MIXED_STREAM = (
    "\ufeff: hello\r\n"
    "event: greeting\r\n"
    "data: héllo wörld 🎉\r\n"
    "data: second line\r"
    "\r"
    "id: 7\n"
    "retry: 1500\n"
    "data:日本語\n"
    "\n"
    ": ping\r"
    "data: tail without blank line"
).encode()


# Line endings


def test_it_splits_lines_on_lf() -> None:
    stream = b"data: a\n\ndata: b\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a"), SSEEvent(data="b")]


def test_it_splits_lines_on_crlf() -> None:
    stream = b"data: a\r\ndata: b\r\n\r\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a\nb")]


def test_it_splits_lines_on_lone_cr() -> None:
    stream = b"data: a\rdata: b\r\rdata: c\r\r"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a\nb"), SSEEvent(data="c")]


def test_it_treats_cr_and_lf_split_across_chunks_as_one_line_end() -> None:
    chunks = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]

    items = decode_in_chunks(chunks)

    assert items == [SSEEvent(data="a\nb")]


def test_it_treats_cr_at_chunk_end_followed_by_other_text_as_a_line_end() -> None:
    chunks = [b"data: a\r", b"data: b\r", b"\r"]

    items = decode_in_chunks(chunks)

    assert items == [SSEEvent(data="a\nb")]


def test_it_ends_a_line_on_cr_even_before_the_next_chunk_arrives() -> None:
    decoder = SSEDecoder()

    items = decoder.feed(b"data: a\r\r")

    assert items == [SSEEvent(data="a")]


def test_it_keeps_lf_after_cr_that_follows_an_empty_chunk() -> None:
    chunks = [b"data: a\r", b"", b"\n\r\n"]

    items = decode_in_chunks(chunks)

    assert items == [SSEEvent(data="a")]


# Chunking and UTF-8


def test_it_gives_the_same_result_when_fed_one_byte_at_a_time() -> None:
    items = decode_in_chunks(split_bytewise(MIXED_STREAM))

    assert items == decode_whole(MIXED_STREAM)
    assert items == [
        SSEComment(" hello"),
        SSEEvent(data="héllo wörld 🎉\nsecond line", event="greeting"),
        SSEEvent(data="日本語", id="7", retry=1500),
        SSEComment(" ping"),
        SSEEvent(data="tail without blank line", id="7"),
    ]


@pytest.mark.parametrize("seed", range(20))
def test_it_gives_the_same_result_for_random_chunk_boundaries(seed: int) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(MIXED_STREAM)), 8))
    chunks = [MIXED_STREAM[a:b] for a, b in zip([0, *cuts], [*cuts, None], strict=True)]

    items = decode_in_chunks(chunks)

    assert items == decode_whole(MIXED_STREAM)


def test_it_decodes_a_multibyte_character_split_across_feeds() -> None:
    emoji = "🎉".encode()
    chunks = [b"data: " + emoji[:1], emoji[1:3], emoji[3:] + b"\n\n"]

    items = decode_in_chunks(chunks)

    assert items == [SSEEvent(data="🎉")]


def test_it_replaces_invalid_utf8_with_replacement_characters() -> None:
    stream = b"data: a\xffb\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a\ufffdb")]


def test_it_replaces_a_truncated_character_at_end_of_stream() -> None:
    stream = b"data: x" + "🎉".encode()[:2]

    items = decode_whole(stream)

    assert items == [SSEEvent(data="x\ufffd")]


def test_it_strips_a_leading_bom() -> None:
    stream = "\ufeffdata: a\n\n".encode()

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a")]


def test_it_strips_only_one_leading_bom() -> None:
    stream = "\ufeff\ufeffdata: a\n\ndata: b\n\n".encode()

    items = decode_whole(stream)

    # The second BOM becomes part of the field name, which is then unknown.
    assert items == [SSEEvent(data="b")]


def test_it_strips_a_leading_bom_split_across_feeds() -> None:
    bom = "\ufeff".encode()
    chunks = [bom[:1], bom[1:2], bom[2:] + b"data: a\n\n"]

    items = decode_in_chunks(chunks)

    assert items == [SSEEvent(data="a")]


def test_it_keeps_a_bom_that_is_not_at_the_start_of_the_stream() -> None:
    stream = "data: a\n\ndata: \ufeffb\n\n".encode()

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a"), SSEEvent(data="\ufeffb")]


def test_it_returns_nothing_for_an_empty_chunk() -> None:
    decoder = SSEDecoder()

    items = decoder.feed(b"")

    assert items == []


def test_it_assembles_a_long_line_delivered_in_many_chunks() -> None:
    payload = "x" * 100_000
    stream = f"data: {payload}\n\n".encode()
    chunks = [stream[i : i + 1000] for i in range(0, len(stream), 1000)]

    items = decode_in_chunks(chunks)

    assert items == [SSEEvent(data=payload)]


# Field parsing


def test_it_parses_a_field_with_no_space_after_the_colon() -> None:
    stream = b'data:{"x":1}\n\n'

    items = decode_whole(stream)

    assert items == [SSEEvent(data='{"x":1}')]


def test_it_removes_exactly_one_leading_space_from_the_value() -> None:
    stream = b"data:  two spaces\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data=" two spaces")]


def test_it_keeps_colons_inside_the_value() -> None:
    stream = b"data: a: b:c\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a: b:c")]


def test_it_treats_a_field_name_alone_as_an_empty_value() -> None:
    stream = b"data\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="")]


def test_it_dispatches_an_empty_data_field_as_an_empty_event() -> None:
    stream = b"data: \n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="")]


def test_it_ignores_unknown_fields() -> None:
    stream = b"foo: bar\nData: nope\ndata: kept\nbaz\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="kept")]


def test_it_sets_the_event_type_from_the_event_field() -> None:
    stream = b"event: update\ndata: a\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a", event="update")]


def test_it_uses_message_when_the_event_field_is_empty() -> None:
    stream = b"event\ndata: a\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a", event="message")]


def test_it_remembers_the_last_event_id_for_later_events() -> None:
    stream = b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n"

    items = decode_whole(stream)

    assert items == [
        SSEEvent(data="a", id="1"),
        SSEEvent(data="b", id="1"),
        SSEEvent(data="c", id="2"),
    ]


def test_it_resets_the_last_event_id_with_an_empty_id_field() -> None:
    stream = b"id: 1\ndata: a\n\nid\ndata: b\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a", id="1"), SSEEvent(data="b", id="")]


def test_it_ignores_an_id_containing_nul() -> None:
    stream = b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a", id="1"), SSEEvent(data="b", id="1")]


def test_it_sets_retry_only_on_the_block_that_carries_it() -> None:
    stream = b"retry: 3000\ndata: a\n\ndata: b\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a", retry=3000), SSEEvent(data="b")]


@pytest.mark.parametrize("value", ["12a", "-5", "1.5", " 10", "", "\u0661\u0662"])
def test_it_ignores_retry_values_that_are_not_all_ascii_digits(value: str) -> None:
    decoder = SSEDecoder()
    stream = f"retry: {value}\ndata: a\n\n".encode()

    items = decoder.feed(stream)

    assert items == [SSEEvent(data="a")]
    assert decoder.reconnection_time is None


def test_it_joins_multiline_data_with_newlines() -> None:
    stream = b"data: first\ndata:second\ndata\ndata: fourth\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="first\nsecond\n\nfourth")]


# Dispatch


def test_it_does_not_dispatch_a_block_without_data_but_remembers_its_id() -> None:
    decoder = SSEDecoder()

    items = decoder.feed(b"id: 42\n\ndata: a\n\n")

    assert items == [SSEEvent(data="a", id="42")]
    assert decoder.last_event_id == "42"


def test_it_stores_retry_from_a_block_without_data() -> None:
    decoder = SSEDecoder()

    items = decoder.feed(b"retry: 2500\n\ndata: a\n\n")

    assert items == [SSEEvent(data="a")]
    assert decoder.reconnection_time == 2500


def test_it_does_not_carry_an_event_type_from_a_block_without_data() -> None:
    stream = b"event: orphan\n\ndata: a\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a")]


def test_it_ignores_repeated_blank_lines() -> None:
    stream = b"\n\n\ndata: a\n\n\n\n"

    items = decode_whole(stream)

    assert items == [SSEEvent(data="a")]


def test_it_reports_no_last_event_id_before_one_is_set() -> None:
    decoder = SSEDecoder()

    items = decoder.feed(b"data: a\n\n")

    assert items == [SSEEvent(data="a", id=None)]
    assert decoder.last_event_id is None


# Comments


def test_it_emits_comments_in_order_with_events() -> None:
    stream = b": first\ndata: a\n\n:second\n: third\ndata: b\n\n:\n"

    items = decode_whole(stream)

    assert items == [
        SSEComment(" first"),
        SSEEvent(data="a"),
        SSEComment("second"),
        SSEComment(" third"),
        SSEEvent(data="b"),
        SSEComment(""),
    ]


def test_it_emits_a_comment_inside_an_event_before_that_event() -> None:
    stream = b"data: a\n: keep-alive\ndata: b\n\n"

    items = decode_whole(stream)

    assert items == [SSEComment(" keep-alive"), SSEEvent(data="a\nb")]


# End of stream


def test_it_dispatches_a_terminated_event_missing_its_blank_line_on_close() -> None:
    decoder = SSEDecoder()
    fed = decoder.feed(b"data: a\n\ndata: last\n")

    closed = decoder.close()

    assert fed == [SSEEvent(data="a")]
    assert closed == [SSEEvent(data="last")]


def test_it_dispatches_an_unterminated_final_line_on_close() -> None:
    decoder = SSEDecoder()
    fed = decoder.feed(b"event: done\ndata: last")

    closed = decoder.close()

    assert fed == []
    assert closed == [SSEEvent(data="last", event="done")]


def test_it_emits_an_unterminated_final_comment_on_close() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\n: bye")

    closed = decoder.close()

    assert closed == [SSEComment(" bye")]


def test_it_discards_a_pending_block_without_data_on_close() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"event: orphan\nid: 9\n")

    closed = decoder.close()

    assert closed == []
    assert decoder.last_event_id == "9"


def test_it_returns_nothing_on_close_after_a_complete_stream() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\n")

    closed = decoder.close()

    assert closed == []


def test_it_returns_nothing_on_a_second_close() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a")
    decoder.close()

    closed_again = decoder.close()

    assert closed_again == []


def test_it_refuses_feed_after_close() -> None:
    decoder = SSEDecoder()
    decoder.close()

    with pytest.raises(ValueError, match="after close"):
        decoder.feed(b"data: a\n\n")


# Realistic provider streams


def openai_chunk(content: str) -> bytes:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": content}}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def test_it_decodes_an_openai_stream_ending_with_done() -> None:
    stream = openai_chunk("Hel") + openai_chunk("lo") + b"data: [DONE]\n\n"

    items = only_events(decode_in_chunks(split_bytewise(stream)))

    assert [item.event for item in items] == ["message"] * 3
    contents = [json.loads(item.data)["choices"][0]["delta"] for item in items[:2]]
    assert contents == [{"content": "Hel"}, {"content": "lo"}]
    assert items[2] == SSEEvent(data="[DONE]")


def test_it_decodes_an_openai_stream_that_ends_without_done() -> None:
    stream = openai_chunk("Hi") + openai_chunk("!")

    items = only_events(decode_whole(stream))

    assert [json.loads(item.data)["choices"][0]["delta"] for item in items] == [
        {"content": "Hi"},
        {"content": "!"},
    ]


def test_it_decodes_an_openai_stream_whose_last_event_lacks_a_blank_line() -> None:
    stream = openai_chunk("Hi") + b'data: {"choices": []}'

    items = decode_whole(stream)

    assert items[-1] == SSEEvent(data='{"choices": []}')
    assert len(items) == 2


def test_it_passes_ping_comments_between_events() -> None:
    stream = b": ping\n\n" + openai_chunk("a") + b": ping\n\n" + b"data: [DONE]\n\n"

    items = decode_whole(stream)

    assert [type(item).__name__ for item in items] == [
        "SSEComment",
        "SSEEvent",
        "SSEComment",
        "SSEEvent",
    ]
    assert items[0] == SSEComment(" ping")
    assert items[2] == SSEComment(" ping")


def test_it_decodes_an_anthropic_style_stream() -> None:
    stream = (
        b"event: message_start\n"
        b'data: {"type":"message_start","message":{"id":"msg_1"}}\n\n'
        b"event: ping\n"
        b'data: {"type": "ping"}\n\n'
        b"event: content_block_delta\n"
        b'data: {"type":"content_block_delta","delta":{"text":"H\xc3\xa9"}}\n\n'
        b"event: message_stop\n"
        b'data: {"type":"message_stop"}\n\n'
    )

    items = only_events(decode_in_chunks(split_bytewise(stream)))

    assert [item.event for item in items] == [
        "message_start",
        "ping",
        "content_block_delta",
        "message_stop",
    ]
    assert json.loads(items[0].data)["message"]["id"] == "msg_1"
    assert json.loads(items[2].data)["delta"]["text"] == "Hé"
