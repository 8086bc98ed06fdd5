"""The lexicon analyzer and its parts: watchlist matching, topic rules, sentences, sentiment.

The seed article is read from the shared data directory (see ``tests/shared_data.py``);
everything else uses short texts written here.
"""

from __future__ import annotations

import pytest

from feeds.analysis import (
    ActorMatcher,
    ArticleAnalyzer,
    parse_topic_rules,
    parse_watchlist,
    score_topics,
)
from feeds.analysis.sentences import Span, split_sentences
from feeds.analysis.sentiment import ScoredPassage, classify, verdict
from feeds.errors import ConfigError, InvalidInput
from feeds.models import Actor, ActorSentiment, AnalysisResult, Document, TargetSpan, TopicRule
from tests.shared_data import REPO, shared_file

SEED_ARTICLE = "seeds/000_30ea7d5ece656d38.txt"
CONFLICT, POLITICS = "medtop:16000000", "medtop:11000000"

# The 17 top-level IPTC Media Topics, as the seed rules must carry them.
IPTC_TOP_LEVEL = {
    "medtop:01000000": "arts, culture, entertainment and media",
    "medtop:02000000": "crime, law and justice",
    "medtop:03000000": "disaster, accident and emergency incident",
    "medtop:04000000": "economy, business and finance",
    "medtop:05000000": "education",
    "medtop:06000000": "environment",
    "medtop:07000000": "health",
    "medtop:08000000": "human interest",
    "medtop:09000000": "labour",
    "medtop:10000000": "lifestyle and leisure",
    "medtop:11000000": "politics",
    "medtop:12000000": "religion",
    "medtop:13000000": "science and technology",
    "medtop:14000000": "society",
    "medtop:15000000": "sport",
    "medtop:16000000": "conflict, war and peace",
    "medtop:17000000": "weather",
}

CONTRAST = "Russia's brutal invasion was condemned, while Ukraine's defenders were praised."


@pytest.fixture(scope="module")
def actors() -> list[Actor]:
    return parse_watchlist((REPO / "seeds" / "actors.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rules() -> list[TopicRule]:
    return parse_topic_rules((REPO / "seeds" / "topics.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def analyzer(actors: list[Actor], rules: list[TopicRule]) -> ArticleAnalyzer:
    return ArticleAnalyzer(actors, rules)


@pytest.fixture(scope="module")
def matcher(actors: list[Actor]) -> ActorMatcher:
    return ActorMatcher(actors)


def found(matcher: ActorMatcher, text: str) -> list[tuple[str, str]]:
    """(actor name, matched text) for each mention."""
    return [(m.actor.name, text[m.start : m.end]) for m in matcher.find(text)]


def by_name(result: AnalysisResult) -> dict[str, ActorSentiment]:
    return {a.name: a for a in result.actors}


# --------------------------------------------------------------------------- seed article


@pytest.fixture(scope="module")
def seed_result(analyzer: ArticleAnalyzer) -> AnalysisResult:
    raw = shared_file(SEED_ARTICLE).read_text(encoding="utf-8")
    title, _, text = raw.partition("\n")
    return analyzer.analyze(Document(id="seed", title=title.strip(), text=text.strip()))


def test_seed_topics_are_conflict_and_politics(seed_result: AnalysisResult) -> None:
    codes = [t.code for t in seed_result.topics]
    assert codes[:2] == [CONFLICT, POLITICS]
    assert all(0.0 <= t.score <= 1.0 for t in seed_result.topics)
    # A single passing "war crimes" does not make it a crime story.
    assert "medtop:02000000" not in codes


@pytest.mark.parametrize("name", ["Russia", "Vladimir Putin"])
def test_seed_negative_actors(
    seed_result: AnalysisResult, matcher: ActorMatcher, name: str
) -> None:
    actor = by_name(seed_result)[name]
    assert actor.sentiment == "negative"
    assert actor.score <= -0.05
    assert actor.evidence
    for sentence in actor.evidence:
        assert name in {m.actor.name for m in matcher.find(sentence)}, sentence


def test_seed_ukraine_is_not_negative(seed_result: AnalysisResult, matcher: ActorMatcher) -> None:
    ukraine = by_name(seed_result)["Ukraine"]
    assert ukraine.sentiment != "negative"
    assert ukraine.evidence
    for sentence in ukraine.evidence:
        assert "Ukraine" in {m.actor.name for m in matcher.find(sentence)}, sentence


def test_seed_finds_peskov_by_variant_spelling(
    seed_result: AnalysisResult, matcher: ActorMatcher
) -> None:
    peskov = by_name(seed_result)["Dmitry Peskov"]
    assert peskov.type == "person"
    # "Dimitry Peskov" once, then "Peskov" five times (once as "Peskov’s").
    assert peskov.mentions == 6
    assert found(matcher, "spokesman Dimitry Peskov said") == [("Dmitry Peskov", "Dimitry Peskov")]


def test_seed_actor_order_and_rounding(seed_result: AnalysisResult) -> None:
    counts = [a.mentions for a in seed_result.actors]
    assert counts == sorted(counts, reverse=True)
    assert seed_result.actors[0].name == "Russia"
    for actor in seed_result.actors:
        assert -1.0 <= actor.score <= 1.0
        assert round(actor.score, 3) == actor.score
        assert actor.sentiment == classify(actor.score)
        assert 1 <= len(actor.evidence) <= 3


# --------------------------------------------------------------------------- watchlist


def test_seed_watchlist_has_the_core_actors(actors: list[Actor]) -> None:
    types = {a.name: a.type for a in actors}
    assert types["Russia"] == "country"
    assert types["Vladimir Putin"] == "person"
    assert types["UK Ministry of Defence"] == "organisation"
    assert {"NATO", "European Union", "United Nations", "United States", "Sergei Lavrov"} <= set(
        types
    )


def test_possessives_straight_and_curly(matcher: ActorMatcher) -> None:
    text = "Russia's army and Russia’s navy"
    assert found(matcher, text) == [("Russia", "Russia"), ("Russia", "Russia")]


def test_line_breaks_and_hyphenation_inside_names(matcher: ActorMatcher) -> None:
    text = "said Vladimir\nPutin, then Zelen-\nsky and the Euro-\npean  Parliament"
    assert found(matcher, text) == [
        ("Vladimir Putin", "Vladimir\nPutin"),
        ("Volodymyr Zelensky", "Zelen-\nsky"),
        ("European Parliament", "Euro-\npean  Parliament"),
    ]


def test_whole_words_only(matcher: ActorMatcher) -> None:
    assert found(matcher, "Prussia and Belarusian and PRUSSIA") == []
    assert found(matcher, "Kremlin-backed rebels") == [("Russia", "Kremlin")]


def test_short_all_caps_aliases_are_case_sensitive(matcher: ActorMatcher) -> None:
    assert found(matcher, "No one likes us, and the un-named envoy agreed") == []
    assert found(matcher, "the US and the U.S. and the UN") == [
        ("United States", "US"),
        ("United States", "U.S."),
        ("United Nations", "UN"),
    ]


def test_case_rules_for_longer_names(matcher: ActorMatcher) -> None:
    # Single words need their capital (china is porcelain); several words match in any case.
    assert found(matcher, "fine china cups") == []
    assert found(matcher, "RUSSIA and the european parliament") == [
        ("Russia", "RUSSIA"),
        ("European Parliament", "european parliament"),
    ]


def test_longest_alias_wins(matcher: ActorMatcher) -> None:
    assert found(matcher, "President Vladimir Putin met the UK Ministry of Defence") == [
        ("Vladimir Putin", "Vladimir Putin"),
        ("UK Ministry of Defence", "UK Ministry of Defence"),
    ]


def test_nationality_adjective_counts_only_in_fixed_phrases(matcher: ActorMatcher) -> None:
    assert found(matcher, "Russian speakers enjoy Russian novels") == []
    assert found(matcher, "Russian forces advanced") == [("Russia", "Russian forces")]


def test_alias_claimed_twice_is_a_config_error() -> None:
    actors = [Actor("A", "person", ("Smith",)), Actor("B", "person", ("smith",))]
    with pytest.raises(ConfigError, match="(?i)smith.*both"):
        ActorMatcher(actors)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[[actor]\nname=", "not valid TOML"),
        ("", "at least one"),
        ('[[actor]]\nname = "X"\ntype = "planet"', "'type'"),
        ('[[actor]]\nname = "X"\ntype = "other"\naliases = ["", "Y"]', "'aliases'"),
        ('[[actor]]\nname = "X"\ntype = "other"\nalias = ["Y"]', "unknown field"),
        ('[[actor]]\nname = "X"\ntype = "other"\n[[actor]]\nname = "x"\ntype = "other"', "twice"),
    ],
)
def test_bad_watchlists(toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_watchlist(toml)


# --------------------------------------------------------------------------- topics


def test_seed_rules_are_the_iptc_top_level(rules: list[TopicRule]) -> None:
    assert {r.code: r.label for r in rules} == IPTC_TOP_LEVEL
    assert all(10 <= len(r.terms) <= 25 for r in rules)


def test_passing_mention_does_not_tag(rules: list[TopicRule]) -> None:
    assert score_topics(rules, "", "The minister said the war was over and went home.") == ()


def test_distinct_terms_tag_and_title_weighs_more(rules: list[TopicRule]) -> None:
    body = score_topics(rules, "", "Troops crossed the border after the invasion began.")
    assert [t.code for t in body] == [CONFLICT]
    titled = score_topics(rules, "Invasion", "Troops crossed the border after the invasion began.")
    assert titled[0].code == CONFLICT
    assert titled[0].score > body[0].score
    assert score_topics(rules, "War looms", "Nothing else here.")[0].code == CONFLICT


def test_multi_label_best_first(rules: list[TopicRule]) -> None:
    text = (
        "Parliament voted on sanctions. The minister and the president spoke. "
        "Troops and missiles massed as the invasion went on."
    )
    result = score_topics(rules, "", text)
    assert {t.code for t in result} == {CONFLICT, POLITICS}
    assert [t.score for t in result] == sorted((t.score for t in result), reverse=True)
    assert all(0.0 < t.score <= 1.0 for t in result)


def test_terms_whole_words_prefixes_and_phrases() -> None:
    rule = TopicRule(
        "medtop:16000000", "conflict, war and peace", ("war", "sanction*", "front line")
    )
    # "warm", "award" and "Warsaw" are not "war"; "sanctioned" is "sanction*";
    # "front-line" is "front line".
    assert score_topics([rule], "", "A warm award in Warsaw.") == ()
    result = score_topics([rule], "", "Sanctioned states at the front-line.")
    assert [t.code for t in result] == ["medtop:16000000"]


def test_longer_text_needs_more_evidence() -> None:
    rule = TopicRule("medtop:16000000", "conflict, war and peace", ("war", "invasion"))
    short = score_topics([rule], "", "The war and the invasion.")
    long = score_topics([rule], "", "The war and the invasion. " + "Filler words here. " * 400)
    assert short and short[0].score > 0.45
    assert long == ()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[[topic]\n", "not valid TOML"),
        ('[[topic]]\ncode = "16000000"\nlabel = "x"\nterms = ["a"]', "'code'"),
        ('[[topic]]\ncode = "medtop:16000000"\nlabel = "x"\nterms = []', "'terms'"),
        ('[[topic]]\ncode = "medtop:16000000"\nlabel = "x"\nterms = ["a*b"]', "bad term"),
        (
            '[[topic]]\ncode = "medtop:16000000"\nlabel = "x"\nterms = ["a"]\n'
            '[[topic]]\ncode = "medtop:16000000"\nlabel = "y"\nterms = ["b"]',
            "twice",
        ),
    ],
)
def test_bad_topic_rules(toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_topic_rules(toml)


# --------------------------------------------------------------------------- sentences


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_sentences_respect_abbreviations_and_initialisms() -> None:
    text = "Mr. Smith met Gen. Jones at the U.S. Army base. Sanctions by the U.S. The end."
    assert sentences(text) == [
        "Mr. Smith met Gen. Jones at the U.S. Army base.",
        "Sanctions by the U.S.",
        "The end.",
    ]


def test_sentences_handle_quotes_and_paragraphs() -> None:
    text = "He said: “We are here.” She left.\n\n“Why?” he asked\nthen\n \nA new one"
    assert sentences(text) == [
        "He said: “We are here.”",
        "She left.",
        "“Why?” he asked\nthen",
        "A new one",
    ]


# --------------------------------------------------------------------------- sentiment


def test_contrast_sentence_splits_the_verdict(analyzer: ArticleAnalyzer) -> None:
    actors = by_name(analyzer.analyze(Document(id="c", title="", text=CONTRAST)))
    assert actors["Russia"].sentiment == "negative"
    assert actors["Ukraine"].sentiment == "positive"
    assert actors["Russia"].evidence == (CONTRAST,)


def test_target_sentiment_offsets(analyzer: ArticleAnalyzer) -> None:
    ukraine = CONTRAST.index("Ukraine")
    targets = [TargetSpan(ukraine, ukraine + 7), TargetSpan(0, 6), TargetSpan(3, 3)]
    result = analyzer.target_sentiment(CONTRAST, targets)
    assert [(r.start, r.end) for r in result] == [(ukraine, ukraine + 7), (0, 6), (3, 3)]
    assert [r.sentiment for r in result] == ["positive", "negative", "negative"]
    assert result[0].score > 0 > result[1].score
    assert analyzer.target_sentiment(CONTRAST, []) == []


def test_target_in_a_neutral_sentence(analyzer: ArticleAnalyzer) -> None:
    text = "Ministers met in Brussels on Tuesday.  The vote was a terrible disaster."
    (first, second) = analyzer.target_sentiment(text, [TargetSpan(17, 25), TargetSpan(39, 43)])
    assert (first.sentiment, first.score) == ("neutral", 0.0)
    assert second.sentiment == "negative"


@pytest.mark.parametrize(
    "span", [TargetSpan(-1, 3), TargetSpan(5, 4), TargetSpan(0, len(CONTRAST) + 1)]
)
def test_target_spans_out_of_range(analyzer: ArticleAnalyzer, span: TargetSpan) -> None:
    with pytest.raises(InvalidInput):
        analyzer.target_sentiment(CONTRAST, [TargetSpan(0, 6), span])


def test_thresholds() -> None:
    assert [classify(s) for s in (-0.05, -0.049, 0.0, 0.049, 0.05)] == [
        "negative",
        "neutral",
        "neutral",
        "neutral",
        "positive",
    ]


def test_verdict_is_the_mean_with_polar_evidence_first() -> None:
    passages = [
        ScoredPassage(Span(0, 1), "Mild  blame.", -0.2),
        ScoredPassage(Span(2, 3), "Praise.", 0.3),
        ScoredPassage(Span(4, 5), "Harsh blame.", -0.9),
        ScoredPassage(Span(4, 5), "Harsh blame.", -0.9),  # the same clause counts once
    ]
    result = verdict(passages)
    assert result.score == round((-0.2 + 0.3 - 0.9) / 3, 3)
    assert result.sentiment == "negative"
    assert result.evidence == ("Harsh blame.", "Mild blame.")


def test_mentions_and_evidence_in_analyze(analyzer: ArticleAnalyzer) -> None:
    text = (
        "Moscow's attack was a disgrace. Russia won an award, which was wonderful and great. "
        "Russian officials were accused of horrible, brutal crimes. Russia is bad. "
        "Prussia is lovely."
    )
    result = analyzer.analyze(Document(id="m", title="Russia again", text=text))
    (russia,) = result.actors
    assert russia.mentions == 5  # title, Moscow, Russia, Russian officials, Russia
    assert russia.sentiment == "negative"
    assert russia.evidence[0] == "Russian officials were accused of horrible, brutal crimes."
    assert "Russia won an award, which was wonderful and great." not in russia.evidence
    assert len(russia.evidence) == 3


def test_no_actors_no_topics(analyzer: ArticleAnalyzer) -> None:
    assert analyzer.analyze(Document(id="e", title="", text="")) == AnalysisResult()
