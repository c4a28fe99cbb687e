"""Screening of a submitted or edited review: deterministic, and every finding says why.

`screen()` is a pure function of the text, the rating and two facts the service reads from the
database (how many reviews the customer submitted in the burst window; whether another review has
the same text). Each rule that fires adds a `Reason` with its action; the decision is `rejected` if
any reason rejects, else `held` if any holds, else `published`.

| rule | fires when | action |
|---|---|---|
| `profanity` | a word of the glin-profanity English list (leetspeak and spacing included) | hold |
| `links` | a URL, a `www.` address, a bare domain of a common TLD (example.com) or an e-mail | reject |
| `copied_text` | the normalized text (at least 30 letters) equals another review's | reject |
| `repeated_text` | a character 8+ or a word 4+ times in a row; under 35% distinct words in 8+ | hold |
| `burst` | the customer submitted BURST_LIMIT reviews in the last BURST_WINDOW already | hold |
| `all_caps` | 20+ letters and at least 80% of them upper case | hold |
| `sentiment_mismatch` | rating 4-5 with a VADER compound score <= -0.5, or rating 1-2 with >= 0.5 | hold |

The VADER compound score (-1 to 1) of title and text is stored with every review.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
import threading
from dataclasses import asdict, dataclass, field
from functools import cache

PUBLISHED, HELD, REJECTED = "published", "held", "rejected"
HOLD, REJECT = "hold", "reject"

BURST_WINDOW = dt.timedelta(minutes=10)
BURST_LIMIT = 3
ALL_CAPS_MIN_LETTERS = 20
ALL_CAPS_SHARE = 0.8
REPEAT_CHAR_RUN = 8
REPEAT_WORD_RUN = 4
REPEAT_MIN_WORDS = 8
REPEAT_DISTINCT_SHARE = 0.35
COPY_MIN_LETTERS = 30
SENTIMENT_MISMATCH = 0.5

# Top-level domains that make a bare "name.tld" a link (the common ones spam uses).
_TLDS = frozenset(
    [
        "com",
        "net",
        "org",
        "info",
        "biz",
        "io",
        "co",
        "us",
        "uk",
        "de",
        "fr",
        "es",
        "it",
        "nl",
        "ru",
        "cn",
        "in",
        "xyz",
        "top",
        "shop",
        "site",
        "online",
        "store",
        "app",
        "ly",
        "me",
        "tv",
    ]
)
_LABEL = re.compile(r"[a-z0-9-]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_lock = threading.Lock()


@dataclass(frozen=True)
class Reason:
    rule: str
    action: str
    message: str
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Screening:
    decision: str
    reasons: list[Reason]
    sentiment: float

    def as_json(self) -> dict:
        return {"decision": self.decision, "sentiment": self.sentiment, "reasons": [asdict(r) for r in self.reasons]}


@cache
def _profanity_filter():  # noqa: ANN202
    from glin_profanity import Filter

    return Filter({"languages": ["english"], "detect_leetspeak": True})


@cache
def _sentiment_analyzer():  # noqa: ANN202
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def normalized(text: str) -> str:
    """Lower-case words only: what "the same text" means for the copied-text rule."""
    return " ".join(word.lower() for word in _WORD.findall(text))


def fingerprint(text: str) -> str:
    """SHA-256 of the normalized text, or "" when it is too short to call a copy."""
    norm = normalized(text)
    if sum(ch.isalpha() for ch in norm) < COPY_MIN_LETTERS:
        return ""
    return hashlib.sha256(norm.encode()).hexdigest()


def sentiment_of(text: str) -> float:
    with _lock:  # the analyzer keeps no state per call, but is not documented as thread-safe
        return round(_sentiment_analyzer().polarity_scores(text)["compound"], 4)


def _profane_words(text: str) -> list[str]:
    with _lock:
        result = _profanity_filter().check_profanity(text)
    return sorted(set(result.get("profane_words") or [])) if result.get("contains_profanity") else []


def _links(text: str) -> list[str]:
    """URLs, www. addresses, bare domains and e-mail addresses, token by token (linear time)."""
    found = set()
    for raw in text.split():
        token = raw.strip("()[]{}<>\"'.,;:!?*")
        low = token.lower()
        if low.startswith(("http://", "https://", "www.")):
            found.add(token)
        elif "@" in low:
            if _EMAIL.fullmatch(low):
                found.add(token)
        else:
            labels = low.split("/", 1)[0].split(".")
            if (
                len(labels) >= 2
                and labels[-1] in _TLDS
                and all(_LABEL.fullmatch(label) and not label.startswith("-") for label in labels)
            ):
                found.add(token)
    return sorted(found)


def _repetition(text: str) -> str | None:
    run = re.search(r"(\S)\1{" + str(REPEAT_CHAR_RUN - 1) + ",}", text)
    if run:
        return f"'{run.group(1)}' repeated {len(run.group(0))} times in a row"
    words = [w.lower() for w in _WORD.findall(text)]
    streak = 1
    for previous, word in itertools.pairwise(words):
        streak = streak + 1 if word == previous else 1
        if streak >= REPEAT_WORD_RUN:
            return f"'{word}' {streak} times in a row"
    if len(words) >= REPEAT_MIN_WORDS and len(set(words)) / len(words) < REPEAT_DISTINCT_SHARE:
        return f"only {len(set(words))} distinct words in {len(words)}"
    return None


def screen(*, title: str, body: str, rating: int, recent_submissions: int, copied_from: int | None) -> Screening:
    """Screen one review. `recent_submissions`: the customer's other reviews submitted within
    BURST_WINDOW (0 for an edit); `copied_from`: the id of another review with the same text."""
    text = f"{title}\n{body}".strip()
    reasons: list[Reason] = []

    profane = _profane_words(text)
    if profane:
        reasons.append(
            Reason(
                "profanity", HOLD, f"Contains words from the profanity list: {', '.join(profane)}.", {"words": profane}
            )
        )
    links = _links(text)
    if links:
        reasons.append(
            Reason("links", REJECT, f"Contains a link or address: {', '.join(links[:3])}.", {"links": links})
        )
    if copied_from is not None:
        reasons.append(
            Reason("copied_text", REJECT, f"The same text as review {copied_from}.", {"review_id": copied_from})
        )
    repeated = _repetition(text)
    if repeated:
        reasons.append(Reason("repeated_text", HOLD, f"Repeated text: {repeated}.", {}))
    if recent_submissions >= BURST_LIMIT:
        minutes = int(BURST_WINDOW.total_seconds() // 60)
        reasons.append(
            Reason(
                "burst",
                HOLD,
                f"{recent_submissions} other reviews from this customer in the last {minutes} minutes.",
                {"recent": recent_submissions, "window_minutes": minutes},
            )
        )
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) >= ALL_CAPS_MIN_LETTERS:
        share = sum(ch.isupper() for ch in letters) / len(letters)
        if share >= ALL_CAPS_SHARE:
            reasons.append(Reason("all_caps", HOLD, f"{round(share * 100)}% of the letters are capitals.", {}))
    sentiment = sentiment_of(text) if text else 0.0
    if (rating >= 4 and sentiment <= -SENTIMENT_MISMATCH) or (rating <= 2 and sentiment >= SENTIMENT_MISMATCH):
        reasons.append(
            Reason(
                "sentiment_mismatch",
                HOLD,
                f"A {rating}-star rating with {'negative' if sentiment < 0 else 'positive'} text "
                f"(sentiment {sentiment:+.2f}).",
                {"sentiment": sentiment, "rating": rating},
            )
        )

    actions = {reason.action for reason in reasons}
    decision = REJECTED if REJECT in actions else HELD if HOLD in actions else PUBLISHED
    return Screening(decision=decision, reasons=reasons, sentiment=sentiment)
