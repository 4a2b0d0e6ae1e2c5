"""Windows: a short message is judged whole; a long one is read completely, with overlap."""

from pipeline_lib.scoring.segments import MAX_CHARS, WHOLE_WORDS, WINDOW_WORDS, sentences, windows

EVERYDAY = ("We finally finished painting the kitchen this weekend and it looks much brighter. "
            "The cat supervised from the windowsill and only walked through the tray once. ")


def test_a_short_message_is_one_window_exactly_as_written():
    text = "I'm not suicidal, just tired. Work has been a lot."
    assert windows(text) == [text]


def test_a_long_message_is_read_completely_with_one_sentence_of_overlap():
    text = EVERYDAY * 12 + "I have the pills saved and I picked a date. " + EVERYDAY * 12
    parts = windows(text)
    assert len(text.split()) > WHOLE_WORDS and len(parts) > 2
    assert all(len(p.split()) <= WINDOW_WORDS for p in parts)
    joined = " ".join(parts)
    assert all(s in joined for s in sentences(text))  # every sentence is read
    for a, b in zip(parts, parts[1:]):  # each window starts on the last sentence of the one before
        assert sentences(b)[0] in a
    assert sum("I picked a date." in p for p in parts) >= 1


def test_a_sentence_longer_than_a_window_is_cut_into_overlapping_runs():
    words = [f"w{i}" for i in range(200)]
    runs = sentences(" ".join(words))
    assert all(len(r.split()) <= WINDOW_WORDS for r in runs)
    assert set(" ".join(runs).split()) == set(words)


def test_the_work_is_bounded_at_the_request_limit():
    parts = windows(EVERYDAY * 200)
    assert sum(len(p) for p in parts) < 2.5 * MAX_CHARS
