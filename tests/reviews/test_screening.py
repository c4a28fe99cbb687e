"""Screening rules, one by one: each fires on its case, says why, and leads to its decision."""

import pytest

from apps.reviews import screening
from apps.reviews.screening import HELD, PUBLISHED, REJECTED


def run(body, *, title="", rating=4, recent=0, copied=None):
    return screening.screen(title=title, body=body, rating=rating, recent_submissions=recent, copied_from=copied)


def rules(result):
    return [reason.rule for reason in result.reasons]


def test_a_clean_review_is_published_with_a_positive_sentiment():
    result = run("Loved the mango habanero, perfect heat and a lovely fruity finish.", rating=5)
    assert result.decision == PUBLISHED and result.reasons == []
    assert result.sentiment > 0.5


def test_profanity_from_the_word_list_holds_the_review_and_names_the_words():
    result = run("This sauce is the shit, honestly", rating=5)
    assert result.decision == HELD
    (reason,) = [r for r in result.reasons if r.rule == "profanity"]
    assert reason.action == "hold" and reason.details["words"] == ["shit"] and "shit" in reason.message


def test_profanity_in_leetspeak_or_spaced_out_is_caught_too():
    assert "profanity" in rules(run("what a sh1t bottle"))
    assert "profanity" in rules(run("f.u.c.k this is hot"))


def test_words_that_merely_contain_a_bad_word_are_not_profanity():
    assert "profanity" not in rules(run("Assessment: a classic, great in a cocktail. Scunthorpe approves."))


@pytest.mark.parametrize(
    "body",
    [
        "cheap pills at https://spam.example/buy",
        "visit www.sauce-deals.net today",
        "go to hotdeals.com",
        "mail me: a@b.co",
    ],
)
def test_a_link_or_address_rejects_the_review_and_quotes_it(body):
    result = run(body)
    assert result.decision == REJECTED
    (reason,) = [r for r in result.reasons if r.rule == "links"]
    assert reason.action == "reject" and reason.details["links"]


def test_copied_text_rejects_with_the_original_review():
    result = run("Some text that another review has already used word for word.", copied=41)
    assert result.decision == REJECTED
    (reason,) = result.reasons
    assert (reason.rule, reason.details) == ("copied_text", {"review_id": 41})
    assert "41" in reason.message


def test_the_fingerprint_ignores_case_and_punctuation_and_skips_short_texts():
    a = screening.fingerprint("Great sauce!!! Really, truly great; would buy it again.")
    b = screening.fingerprint("great sauce really truly great would buy it again")
    assert a == b and len(a) == 64
    assert screening.fingerprint("Great!") == ""


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("Hot hot hot hot sauce", "'hot' 4 times in a row"),
        ("Amazing!!!!!!!!!", "'!' repeated 9 times"),
        ("buy buy sauce buy sauce buy sauce buy sauce buy", "distinct words"),
    ],
)
def test_repeated_text_holds_the_review_and_says_what_repeats(body, what):
    result = run(body)
    assert result.decision == HELD
    (reason,) = [r for r in result.reasons if r.rule == "repeated_text"]
    assert what in reason.message


def test_a_burst_of_submissions_holds_the_next_one():
    assert "burst" not in rules(run("Nice and smoky.", recent=screening.BURST_LIMIT - 1))
    result = run("Nice and smoky.", recent=screening.BURST_LIMIT)
    assert result.decision == HELD
    (reason,) = result.reasons
    assert reason.rule == "burst" and reason.details == {"recent": 3, "window_minutes": 10}


def test_all_caps_holds_the_review_but_short_shouting_does_not():
    result = run("THIS IS THE BEST SAUCE I HAVE EVER HAD IN MY LIFE")
    assert result.decision == HELD and rules(result) == ["all_caps"]
    assert "all_caps" not in rules(run("BEST SAUCE", rating=5))


def test_a_rating_that_contradicts_the_text_sentiment_is_held():
    five_stars_hate = run("Terrible, awful and disgusting. I hate it.", rating=5)
    assert five_stars_hate.decision == HELD and rules(five_stars_hate) == ["sentiment_mismatch"]
    assert five_stars_hate.sentiment < -0.5
    one_star_love = run("Wonderful, fantastic, I love it!", rating=1)
    assert rules(one_star_love) == ["sentiment_mismatch"]
    assert run("Terrible, awful and disgusting. I hate it.", rating=1).decision == PUBLISHED


def test_a_reject_wins_over_a_hold_and_every_reason_is_kept():
    result = run("SHIT SAUCE, BUY IT AT WWW.CHEAPSAUCE.COM NOW PLEASE", recent=5)
    assert result.decision == REJECTED
    assert {"profanity", "links", "burst", "all_caps"} <= set(rules(result))
    stored = result.as_json()
    assert stored["decision"] == "rejected" and all({"rule", "action", "message"} <= set(r) for r in stored["reasons"])


def test_screening_is_deterministic():
    texts = ["Pretty good, a bit too sweet.", "THE WORST!!!!!!!! shit", "see example.com"]
    assert [run(t).as_json() for t in texts] == [run(t).as_json() for t in texts]
