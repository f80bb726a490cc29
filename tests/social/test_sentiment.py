"""Sentiment of short posts: each rule on hand-written examples, and the benchmark's
reading of data sets (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from accord.bench import sentiment as bench
from accord.cli.main import app as cli
from accord.social.intent import intents
from accord.social.lexicon import LEXICON_PATH, hashtag_words
from accord.social.sentiment import analyse


def label(text: str) -> str:
    return analyse(text).label


def score(text: str) -> float:
    return analyse(text).score


def test_plain_positive_negative_and_a_factual_post_that_stays_neutral() -> None:
    assert label("I love this app, it's great") == "positive"
    assert label("This is the worst app, I hate it") == "negative"
    factual = analyse("Our store opens at 9am on Monday at 42 Main Street.")
    assert factual.label == "neutral"
    assert factual.score == 0.0
    assert label("The new version ships on Tuesday with dark mode and a CSV export.") == "neutral"
    assert analyse("") == analyse("   ")
    assert analyse("").label == "neutral"
    # Phrases of the lexicon that carry no sentiment leave a post neutral.
    for plain in ("customer service", "may or may not", "I would like a receipt"):
        assert analyse(plain).label == "neutral"
        assert analyse(plain).neutral == 1.0


_PIECES = [
    *"abcdeXYZ !?.,;:()<3-_^'#@/$0123456789",
    *("\u2019", "é", "😡", "🙏", "❤\ufe0f", "not ", "never ", "but ", "very ", "kind of "),
    *("still waiting", "sooooo", "GREAT", "may or may not", "customer service"),
    *("http://x.example/a", "#NeverAgain", "@bob", "!!!!!!!"),
]
_POSTY = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=120), _POSTY))
def test_any_text_gets_a_bounded_sentiment_and_intents(text: str) -> None:
    s = analyse(text)
    assert -1.0 <= s.score <= 1.0
    assert s.positive + s.negative + s.neutral == pytest.approx(1.0)
    assert all(0.0 <= i.confidence <= 1.0 for i in intents(text, s))


def test_score_and_proportions_are_bounded() -> None:
    for text in ("GREAT GREAT GREAT!!!! ❤️❤️❤️ love love love", "😡🤬👎 worst scam ever!!!"):
        s = analyse(text)
        assert -1.0 <= s.score <= 1.0
        assert s.positive + s.negative + s.neutral == pytest.approx(1.0, abs=1e-3)
    assert analyse("great app").positive > analyse("great app").negative
    assert analyse("awful app").negative > analyse("awful app").positive


@pytest.mark.parametrize(
    ("plain", "negated"),
    [
        ("good", "not good"),
        ("the app is working", "the app isn't working"),
        ("support was a great help", "support was no help at all"),
        ("I recommend it", "I can't recommend it"),
        ("happy with the service", "not happy with the service"),
    ],
)
def test_negation_flips(plain: str, negated: str) -> None:
    assert score(plain) >= 0
    assert label(negated) == "negative"
    assert score(negated) < score(plain)


def test_negation_has_a_scope() -> None:
    assert label("never again") == "negative"
    assert label("none of my apps are working") == "negative"
    assert label("Delivery was not bad at all") != "negative"
    # The clause after the comma is out of the negation's reach.
    assert label("I don't know, this is great") == "positive"
    # A negated negative word turns mildly positive, not strongly.
    assert 0 < score("not terrible") < score("great")
    assert label("funktioniert nicht gut") == "negative"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("😡", "negative"),
        ("🤬", "negative"),
        ("👎", "negative"),
        ("💔", "negative"),
        ("🙏", "positive"),
        ("❤️", "positive"),
        ("🔥🔥", "positive"),
        (":(", "negative"),
        (":-(", "negative"),
        (":-)", "positive"),
        (":D", "positive"),
        ("<3", "positive"),
        ("my order is late again 😡", "negative"),
        ("got it today 🙏❤️", "positive"),
    ],
)
def test_emoji_and_emoticons(text: str, expected: str) -> None:
    assert label(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("this app sucks", "negative"),
        ("meh", "negative"),
        ("ugh, again", "negative"),
        ("smh at this update", "negative"),
        ("wtf is this update", "negative"),
        ("total trash", "negative"),
        ("this is a scam", "negative"),
        ("the new album is fire", "positive"),
        ("that launch party was lit", "positive"),
        ("this phone is the goat", "positive"),
        ("lol love it", "positive"),
    ],
)
def test_slang(text: str, expected: str) -> None:
    assert label(text) == expected


def test_intensifiers_and_dampeners() -> None:
    assert score("very good") > score("good") > score("kinda good") > 0
    assert score("super fast delivery") > score("fast delivery")
    assert score("so good") > score("good")
    assert score("slightly bad") > score("bad")
    assert score("really terrible") < score("terrible") < 0
    assert score("it's kind of nice") < score("it's nice")


def test_caps_exclamations_and_elongation() -> None:
    assert score("the support is GREAT") > score("the support is great")
    assert score("the support is TERRIBLE") < score("the support is terrible")
    # A post written all in capitals emphasises no word in particular.
    assert score("THE SUPPORT IS GREAT") == score("the support is great")
    assert score("good!!!") > score("good!") > score("good")
    assert score("sooooo good") == score("so good")
    assert label("goooood stuff") == "positive"
    assert score("loooove it") > score("love it")
    assert label("noooo not again") == "negative"


def test_contrast_weighs_the_clause_after_but() -> None:
    assert label("the app is nice but support is useless") == "negative"
    assert label("support was slow but the fix is great") == "positive"
    assert label("Good price, however the quality is awful") == "negative"
    # "yet" is no contrast: the best yet is still the best.
    assert score("best update yet") == score("best update")


def test_hashtags_are_scored_by_their_words() -> None:
    assert hashtag_words("neveragain") == ("never", "again")
    assert hashtag_words("NeverAgain") == ("never", "again")
    assert hashtag_words("CustomerServiceFail") == ("customer", "service", "fail")
    assert label("#fail") == "negative"
    assert label("ordered a phone #neveragain") == "negative"
    assert label("new update #love") == "positive"
    assert label("#epicfail") == "negative"


def test_mentions_and_urls_are_ignored() -> None:
    plain = analyse("great update")
    assert analyse("@sadbrand great update https://terrible.example/awful-worst").score == (
        plain.score
    )
    assert analyse("@awful@mastodon.social great update").score == plain.score
    assert label("@hateful_bob check www.worst.example") == "neutral"


@pytest.mark.parametrize(
    "text",
    [
        "I was charged twice for one order",
        "still waiting for my refund",
        "the app is down again",
        "they cancelled my order without telling me",
        "another outage this morning",
        "three weeks and it never arrived",
        "been on hold for an hour",
    ],
)
def test_customer_service_complaints_read_negative(text: str) -> None:
    assert label(text) == "negative"


@pytest.mark.parametrize(
    "text",
    [
        "thank you so much",
        "support fixed it in five minutes",
        "great support from the team",
        "refund arrived, thanks",
    ],
)
def test_customer_service_thanks_read_positive(text: str) -> None:
    assert label(text) == "positive"


def test_common_words_of_other_languages() -> None:
    assert label("muchas gracias, excelente servicio") == "positive"
    assert label("servicio pésimo") == "negative"
    assert label("merci, c'est génial") == "positive"
    assert label("vielen Dank, toll") == "positive"
    assert label("atendimento péssimo") == "negative"


def test_cues_show_the_words_that_carried_it() -> None:
    cues = dict(analyse("the app isn't working and support is useless 😡").cues)
    assert cues["isn't working"] < 0
    assert cues["useless"] < 0
    assert cues["😡"] < 0
    assert analyse("Our store opens at 9am.").cues == ()


def test_the_lexicon_is_data_with_its_sources_and_is_read_lazily() -> None:
    head = LEXICON_PATH.read_text(encoding="utf-8")[:3000]
    assert "VADER" in head
    assert "MIT" in head
    code = (
        "import accord.social.sentiment, accord.social.intent\n"
        "from accord.social.lexicon import lexicon\n"
        "assert lexicon.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# The benchmark ------------------------------------------------------------------------


def _tweeteval(folder: Path) -> Path:
    folder.mkdir()
    (folder / "test_text.txt").write_text(
        "I love this, thank you so much!\n"
        "worst service ever, still waiting for my refund\n"
        "The store opens at 9am on Monday\n"
        "great app \\u2019s support &amp; fast fixes\n",
        encoding="utf-8",
    )
    (folder / "test_labels.txt").write_text("2\n0\n1\n2\n", encoding="utf-8")
    return folder


def test_bench_reads_a_tweeteval_folder(tmp_path: Path) -> None:
    texts, labels = bench.load(_tweeteval(tmp_path / "sentiment"), "test")
    assert labels == ["positive", "negative", "neutral", "positive"]
    assert texts[3] == "great app \u2019s support & fast fixes"
    # The folder above it (TweetEval's datasets/) works too.
    assert bench.load(tmp_path, "test")[1] == labels
    with pytest.raises(bench.DataError):
        bench.load(tmp_path, "val")


def test_bench_reads_tsv_and_csv(tmp_path: Path) -> None:
    tsv = tmp_path / "posts.tsv"
    tsv.write_text("text\tlabel\ngreat app\tpositive\nawful, truly\tnegative\n", encoding="utf-8")
    assert bench.load(tsv) == (["great app", "awful, truly"], ["positive", "negative"])
    csv_file = tmp_path / "posts.csv"
    csv_file.write_text('label,text\n2,"great, really"\n1,it opens at nine\n', encoding="utf-8")
    assert bench.load(csv_file) == (["great, really", "it opens at nine"], ["positive", "neutral"])
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,maybe\n", encoding="utf-8")
    with pytest.raises(bench.DataError):
        bench.load(bad)


def test_bench_scores_both_systems() -> None:
    texts = ["great", "awful", "a table", "love it"]
    labels = ["positive", "negative", "neutral", "negative"]
    s = bench.score("Fixed", lambda t: "positive", texts, labels)
    assert s.accuracy == 0.25
    assert s.f1["positive"] == pytest.approx(2 * 1 / (4 + 1))
    assert s.f1["negative"] == 0.0
    assert s.macro_f1 == pytest.approx(s.f1["positive"] / 3)


def test_bench_command_prints_accord_beside_vader(tmp_path: Path) -> None:
    folder = _tweeteval(tmp_path / "sentiment")
    result = CliRunner().invoke(cli, ["bench", "sentiment", "--data", str(folder), "--rounds", "1"])
    assert result.exit_code == 0, result.output
    for needed in ("Accord", "VADER", "accuracy", "macro-F1", "F1 negative", "posts/s"):
        assert needed in result.output
    assert "4 posts" in result.output
    assert "Accord intents:" in result.output


def test_bench_command_says_what_to_download() -> None:
    result = CliRunner().invoke(cli, ["bench", "sentiment"])
    assert result.exit_code == 2
    assert "tweeteval" in result.output.lower()
    missing = CliRunner().invoke(cli, ["bench", "sentiment", "--data", "/nonexistent/x"])
    assert missing.exit_code == 2
    assert "tweeteval" in missing.output.lower()
