"""The pure parts of actor analysis: the verdict rule, discovery, and the merged watchlist.

The verdict tests drive :class:`ArticleAnalyzer` with a stand-in for the
:class:`~feeds.ports.TargetSentimentModel` port that reads fixed words, so the rule is
tested apart from the trained model (which ``test_target_model.py`` covers).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from feeds.analysis import ArticleAnalyzer
from feeds.analysis.actor_list import check_watchlist, merge_watchlist, watched_entry
from feeds.analysis.budget import MAX_TEXT_CHARS
from feeds.analysis.discovery import discover_actors
from feeds.analysis.spans import SpanSet
from feeds.analysis.targeted.actors import MAX_SENTENCES_PER_ACTOR, reading_plan
from feeds.analysis.targeted.cascade import CascadeTargetSentiment
from feeds.analysis.targeted.encoding import marked_pair
from feeds.analysis.targeted.roles import is_source
from feeds.analysis.targeted.verdict import LEAN, ReadMention, actor_verdict
from feeds.errors import InvalidInput
from feeds.models import (
    Actor,
    Document,
    MentionSentiment,
    TargetInSentence,
    TargetSpan,
    WatchedActor,
)

NEG = MentionSentiment(0.9, 0.1, 0.0)
NEU = MentionSentiment(0.05, 0.9, 0.05)
POS = MentionSentiment(0.0, 0.2, 0.8)


class WordModel:
    """Reads the word right after the mention: 'failed' is negative, 'won' positive."""

    def __init__(self) -> None:
        self.calls: list[list[TargetInSentence]] = []

    def predict(self, targets: Sequence[TargetInSentence]) -> list[MentionSentiment]:
        self.calls.append(list(targets))
        out = []
        for t in targets:
            after = t.sentence[t.end :].split()
            word = after[0].strip(".,") if after else ""
            out.append({"failed": NEG, "won": POS}.get(word, NEU))
        return out


def read(start: int, sentence: str, reading: MentionSentiment) -> ReadMention:
    return ReadMention(start, sentence, reading)


# --------------------------------------------------------------------------- verdict rule


def test_one_sentence_is_one_vote() -> None:
    # three mentions in one negative sentence weigh as much as one neutral sentence
    verdict = actor_verdict(
        [read(0, "A failed, A failed, A failed.", NEG)] * 3 + [read(40, "A met B.", NEU)]
    )
    assert verdict.score == round((NEG.score + NEU.score) / 2, 3)
    assert verdict.sentiment == "negative"


def test_neutral_majority_with_clear_hostility_leans_negative() -> None:
    mentions = [read(i * 10, f"s{i}", NEU) for i in range(4)] + [read(99, "bad", NEG)]
    verdict = actor_verdict(mentions)
    assert verdict.score <= -LEAN and verdict.sentiment == "negative"
    assert verdict.evidence == ("bad",)  # only sentences that agree with the verdict


def test_a_verdict_needs_a_sentence_that_shows_it() -> None:
    leaning = MentionSentiment(0.4, 0.55, 0.05)  # neutral, but leaning negative
    verdict = actor_verdict([read(0, "a", leaning), read(10, "b", leaning)])
    assert verdict.score <= -LEAN and verdict.sentiment == "neutral"
    assert verdict.evidence == ("a", "b")


def test_mixed_coverage_is_neutral_and_shows_the_surest_neutral_sentence() -> None:
    mentions = [read(0, "praised", POS), read(10, "blamed", NEG), read(20, "met", NEU)]
    verdict = actor_verdict(mentions)
    assert verdict.sentiment == "neutral" and abs(verdict.score) < LEAN
    assert verdict.evidence[0] == "met"


def test_evidence_is_clearest_first_distinct_and_capped() -> None:
    weak = MentionSentiment(0.5, 0.3, 0.2)
    mentions = [
        read(0, "weak", weak),
        read(10, "strong\nline", NEG),
        read(20, "strong line", NEG),
        read(30, "third", MentionSentiment(0.7, 0.3, 0.0)),
        read(40, "fourth", MentionSentiment(0.6, 0.4, 0.0)),
    ]
    verdict = actor_verdict(mentions)
    assert verdict.evidence == ("strong line", "third", "fourth")


def test_no_mentions_is_neutral_without_evidence() -> None:
    verdict = actor_verdict([])
    assert (verdict.sentiment, verdict.score, verdict.evidence) == ("neutral", 0.0, ())


def test_mention_sentiment_class_and_score_agree() -> None:
    assert NEG.sentiment == "negative" and NEG.score < 0
    assert POS.sentiment == "positive" and POS.score > 0
    assert NEU.sentiment == "neutral"


def test_analyzer_reads_each_actor_in_its_own_right() -> None:
    model = WordModel()
    analyzer = ArticleAnalyzer(
        [Actor("Russia", "country", ("Kremlin",)), Actor("Ukraine", "country")],
        [],
        target_model=model,
    )
    text = "Russia failed again. Ukraine won the vote. The Kremlin failed to answer."
    result = analyzer.analyze(Document("1", "", text))
    by_name = {a.name: a for a in result.actors}
    assert by_name["Russia"].sentiment == "negative" and by_name["Russia"].mentions == 2
    assert by_name["Ukraine"].sentiment == "positive"
    assert by_name["Russia"].evidence == ("Russia failed again.", "The Kremlin failed to answer.")
    assert all(a.watched for a in result.actors)
    assert len(model.calls) == 1  # one batched call per article


def test_target_sentiment_uses_the_model_on_the_sentence_of_each_span() -> None:
    model = WordModel()
    analyzer = ArticleAnalyzer([Actor("X", "other")], [], target_model=model)
    text = "Bob won. Ann failed."
    spans = analyzer.target_sentiment(text, [TargetSpan(9, 12), TargetSpan(0, 3)])
    assert [(s.start, s.sentiment) for s in spans] == [(9, "negative"), (0, "positive")]
    assert model.calls[-1][0] == TargetInSentence("Ann failed.", 0, 3)
    assert spans[0].score == round(NEG.score, 3)


def test_other_actors_of_the_sentence_are_passed_as_others() -> None:
    model = WordModel()
    analyzer = ArticleAnalyzer(
        [Actor("Russia", "country", ("Kremlin",)), Actor("Ukraine", "country")],
        [],
        target_model=model,
    )
    text = "Russia failed and Ukraine won, the Kremlin lost. Ukraine won."
    analyzer.analyze(Document("1", "", text))
    requests = {(t.sentence[t.start : t.end], t.start): t for t in model.calls[-1]}
    # Russia's other mention (the Kremlin) is not an "other"; Ukraine's is Russia's; one
    # mention of an actor is read per sentence (the verdict gives a sentence one vote)
    first = "Russia failed and Ukraine won, the Kremlin lost."
    assert requests[("Russia", 0)].others == ((18, 25),)
    assert ("Kremlin", 35) not in requests
    assert requests[("Ukraine", 18)].others == ((0, 6), (35, 42))
    assert requests[("Ukraine", 18)].sentence == first
    assert requests[("Ukraine", 0)].others == ()  # alone in its sentence


def test_target_sentiment_marks_the_other_requested_spans_of_the_sentence() -> None:
    model = WordModel()
    analyzer = ArticleAnalyzer([Actor("X", "other")], [], target_model=model)
    text = "Bob won and Ann failed. Cy won."
    spans = [TargetSpan(0, 3), TargetSpan(12, 15), TargetSpan(24, 26), TargetSpan(0, 3)]
    analyzer.target_sentiment(text, spans)
    others = [t.others for t in model.calls[-1]]
    assert others == [((12, 15),), ((0, 3),), (), ((12, 15),)]


def test_the_input_marks_the_other_targets() -> None:
    s = "Russia's invasion was condemned, while Ukraine's defenders were praised."
    u = s.index("Ukraine")
    plain = marked_pair(s, 0, 6)
    assert plain.marked == "<< Russia >>'s invasion was condemned, while Ukraine's defenders " + (
        "were praised."
    )
    pair = marked_pair(s, 0, 6, [(u, u + 7)])
    assert pair.marked == (
        "<< Russia >>'s invasion was condemned, while [ Ukraine ] 's defenders were praised."
    )
    assert pair.marked[pair.span_start : pair.span_end] == "Russia"
    back = marked_pair(s, u, u + 7, [(0, 6), (2, 5), (u, u + 7), (u + 2, u + 9)])
    # overlapping spans (with another other, or with the mention) are left unmarked
    assert back.marked.startswith("[ Russia ] 's invasion") and back.marked.count("[") == 1
    assert back.marked[back.span_start : back.span_end] == "Ukraine"


def test_others_outside_the_cropped_window_are_not_marked() -> None:
    s = "Ann Lee said " + "that the court met again on Monday " * 12 + "while Bob Marsh lied."
    b = s.index("Bob")
    pair = marked_pair(s, 0, 7, [(b, b + 9)])
    assert "Bob" not in pair.marked and "[" not in pair.marked
    near = marked_pair(s, b, b + 9, [(0, 7)])
    assert "Ann" not in near.marked and "[" not in near.marked


def test_analyzer_adds_discovered_actors_after_watched_ones() -> None:
    analyzer = ArticleAnalyzer(
        [Actor("Russia", "country")], [], target_model=WordModel(), discover=True
    )
    text = "Russia failed. Prime Minister Ann Lee won praise. Lee said Russia failed."
    result = analyzer.analyze(Document("1", "", text))
    assert [(a.name, a.watched) for a in result.actors] == [("Russia", True), ("Ann Lee", False)]
    assert result.actors[1].type == "person" and result.actors[1].mentions == 2


# --------------------------------------------------------------------------- discovery


def names(text: str, watched: Sequence[str] = ()) -> dict[str, tuple[str, int]]:
    return {d.name: (d.type, len(d.spans)) for d in discover_actors(text, [], watched)}


def test_titles_make_persons_and_are_not_part_of_the_name() -> None:
    found = names("President Ann Lee spoke. Later, Ms Lee left for Paris.")
    assert found["Ann Lee"] == ("person", 2)


def test_surname_canonicalisation_in_any_order_of_first_use() -> None:
    found = names("Lee said the plan fails. Health Secretary Ann Lee resigned on Monday.")
    assert found == {"Ann Lee": ("person", 2)}


def test_organisations_acronyms_and_places() -> None:
    text = (
        "The Green Party and the Bank of England disagreed. The OSCE met; the OSCE said no. "
        "Shelling hit homes in Kherson. Aid reached Kherson later. He went to Lisbon once."
    )
    found = names(text)
    assert found["Green Party"] == ("organisation", 1)
    assert found["Bank of England"] == ("organisation", 1)
    assert found["OSCE"] == ("organisation", 2)
    # places are locations, not actors, however often they come back
    assert "Kherson" not in found
    assert "Lisbon" not in found


def test_the_reading_budget_reads_first_sentences_first_and_every_actor_once() -> None:
    # actor 0: sentences at 0, 0 (twice in one), 10, 20, 30, 40; actor 1: 10; actor 2: 50
    plan = reading_plan([[0, 0, 10, 20, 30, 40], [10], [50]], per_actor=3, per_article=4)
    assert plan == [[0, 2], [0], [0]]  # round one for all, then actor 0's second sentence
    # a budget smaller than the actors still reads each actor's first sentence
    assert reading_plan([[0], [5], [9]], per_actor=2, per_article=1) == [[0], [0], [0]]
    assert reading_plan([[0, 1, 2, 3, 4, 5]], per_actor=4, per_article=24) == [[0, 1, 2, 3]]


def test_places_fragments_and_common_acronyms_are_not_new_actors() -> None:
    text = (
        "Volunteers have a military training in Rostov on December 6. Rostov is cold. "
        "The UN General Assembly voted. The General Assembly met again. "
        "AI is everywhere; AI firms grew. Troops left Kharkiv for Pokrovsk, near Donetsk."
    )
    found = names(text)
    for fragment in ("Rostov", "Assembly", "AI", "Kharkiv", "Pokrovsk", "Donetsk"):
        assert fragment not in found


def test_a_leading_day_or_dated_possessive_is_not_part_of_a_name() -> None:
    # the whole verdict: no "Tuesday's General Assembly" beside the General Assembly, and
    # a bare month stays part of a name ("Theresa May")
    assert names(
        "Diplomats praised Tuesday's General Assembly resolution. The General Assembly met. "
        "Monday Ann Lee said no. March's Labour Party conference opens. Theresa May said so."
    ) == {
        "General Assembly": ("organisation", 2),
        "Ann Lee": ("person", 1),
        "Labour Party": ("organisation", 1),
        "Theresa May": ("person", 1),
    }


def test_speech_verbs_make_persons_and_sentence_openers_are_ignored() -> None:
    found = names("But Maria Novak, a nurse, said the ward was full. However, it was.")
    assert found == {"Maria Novak": ("person", 1)}


def test_watched_names_are_never_rediscovered() -> None:
    text = "President Putin spoke. Mr Putin's aide Dmitry Ivanov said Vladimir Putin was right."
    found = names(text, watched=["Vladimir Putin", "Putin", "President Putin"])
    assert found == {"Dmitry Ivanov": ("person", 1)}


def test_watched_spans_block_overlapping_candidates() -> None:
    text = "The Ministry of Defence said it was ready."
    start = text.index("Ministry")
    assert discover_actors(text, [(start, start + len("Ministry of Defence"))], []) == []


def test_runs_of_function_words_are_skipped() -> None:
    assert names('"If I agreed," she wrote. But In The End It Was. A B C.') == {}


def test_common_capitalised_words_and_line_breaks() -> None:
    text = "On Monday, in January, the World Cup began.\nMinister Olena\nKovalenko said so."
    found = names(text)
    assert found == {"Olena Kovalenko": ("person", 1)}


# --------------------------------------------------------------------------- watchlist merge

SEED = [
    Actor("Russia", "country", ("Kremlin", "Moscow")),
    Actor("NATO", "organisation", ("North Atlantic Treaty Organization",)),
    Actor("Vladimir Putin", "person", ("Putin",)),
]


def test_user_actors_follow_the_seed_and_replace_same_names() -> None:
    user = [
        WatchedActor("nato", "organisation", ("the Alliance",)),
        WatchedActor("Keir Starmer", "person", ("Starmer",)),
    ]
    merged = merge_watchlist(SEED, user)
    assert [a.name for a in merged] == ["Russia", "Vladimir Putin", "Keir Starmer", "nato"]
    assert merged[-1].aliases == ("the Alliance",)


def test_hidden_seed_actors_disappear_and_claimed_aliases_move_to_the_user() -> None:
    user = [
        WatchedActor("Russia", "country", hidden=True),
        WatchedActor("Moscow city council", "organisation", ("Moscow",)),
        WatchedActor("Putin", "person"),
    ]
    merged = {a.name: a for a in merge_watchlist(SEED, user)}
    assert "Russia" not in merged
    assert merged["Moscow city council"].aliases == ("Moscow",)
    assert "Vladimir Putin" in merged and merged["Vladimir Putin"].aliases == ()
    check_watchlist(list(merged.values()))


def test_conflicts_between_user_actors_are_refused() -> None:
    actors = merge_watchlist(
        SEED, [WatchedActor("A", "other", ("Zed",)), WatchedActor("B", "other", ("zed",))]
    )
    with pytest.raises(InvalidInput, match="belongs to both"):
        check_watchlist(actors)


@pytest.mark.parametrize(
    ("name", "kind", "aliases", "message"),
    [
        ("  ", "person", [], "non-empty name"),
        ("Ann", "people", [], "--type 'people'"),
        ("Ann", "person", ["--"], "letter or digit"),
    ],
)
def test_bad_entries_are_refused(name: str, kind: str, aliases: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        watched_entry(name, kind, aliases)


def test_entries_are_normalised() -> None:
    entry = watched_entry("  Keir   Starmer ", "person", ["Starmer", "keir starmer", "Starmer"])
    assert entry == WatchedActor("Keir Starmer", "person", ("Starmer",))


# --------------------------------------------------------------------------- budgets


def test_sources_of_a_sentence_are_not_coloured_by_what_they_report() -> None:
    model = WordModel()
    analyzer = ArticleAnalyzer(
        [Actor("United Kingdom", "country", ("UK",)), Actor("Russia", "country")],
        [],
        target_model=model,
    )
    text = "UK intelligence said Russia failed badly. Later the UK failed too."
    result = {a.name: a for a in analyzer.analyze(Document("1", "", text)).actors}
    sent = [t.sentence[t.start : t.end] for call in model.calls for t in call]
    assert sent.count("UK") == 1  # the source mention never reaches the model
    assert result["Russia"].sentiment == "negative"
    # one neutral source sentence and one negative sentence of its own
    assert result["United Kingdom"].mentions == 2
    assert result["United Kingdom"].score == round(NEG.score / 2, 3)
    assert is_source("Russia’s spokesman said no", 0, 6)
    assert not is_source("Trump said Biden failed", 11, 16)  # the subject, not the source
    assert is_source("“No,” said the UK ministry.", 15, 17)
    assert is_source("According to the Ministry of Defence (MoD), Russia lost", 17, 36)


def test_a_huge_document_is_read_to_its_budget_and_says_so() -> None:
    model = WordModel()
    analyzer = ArticleAnalyzer([Actor("Russia", "country")], [], target_model=model)
    text = "Russia won. " * 20_000  # 240,000 characters
    result = analyzer.analyze(Document("1", "", text))
    assert result.text_cut_at is not None and result.text_cut_at <= MAX_TEXT_CHARS
    assert text[result.text_cut_at] == " "  # cut between words
    assert result.actors[0].sentiment == "positive"
    # every mention inside the budget is counted, only MAX_SENTENCES_PER_ACTOR are read
    assert result.actors[0].mentions == result.text_cut_at // len("Russia won. ") + 1
    assert sum(len(c) for c in model.calls) == MAX_SENTENCES_PER_ACTOR
    small = analyzer.analyze(Document("2", "", "Russia won."))
    assert small.text_cut_at is None


def test_span_set_answers_overlaps_of_half_open_spans() -> None:
    spans = SpanSet([(10, 20), (30, 40)])
    assert spans.overlaps(15, 16) and spans.overlaps(5, 11) and spans.overlaps(19, 31)
    assert not spans.overlaps(20, 30) and not spans.overlaps(0, 10) and not spans.overlaps(40, 50)
    assert spans.add_if_free(20, 30) and not spans.add_if_free(25, 26)
    assert spans.overlaps(29, 30)


def test_the_cascade_sends_sentences_with_several_targets_to_the_large_model() -> None:
    small, large = WordModel(), WordModel()
    cascade = CascadeTargetSentiment(small, large)
    alone = TargetInSentence("Ann Lee won.", 0, 7)
    shared = TargetInSentence("Ann Lee won and Bob Marsh failed.", 16, 25, ((0, 7),))
    readings = cascade.predict([alone, shared, alone])
    assert readings == [POS, NEG, POS]  # in input order
    assert small.calls == [[alone, alone]] and large.calls == [[shared]]
    assert cascade.predict([]) == []


def test_the_cascade_asks_the_large_model_where_the_small_one_is_unsure() -> None:
    class Unsure(WordModel):
        """The word model, but barely sure of 'lost'."""

        def predict(self, targets: Sequence[TargetInSentence]) -> list[MentionSentiment]:
            out = super().predict(targets)
            return [
                MentionSentiment(0.45, 0.35, 0.2) if "lost" in t.sentence else r
                for t, r in zip(targets, out, strict=True)
            ]

    small, large = Unsure(), WordModel()
    cascade = CascadeTargetSentiment(small, large, several_actors=False, unsure_below=0.6)
    sure = TargetInSentence("Ann Lee won.", 0, 7)
    unsure = TargetInSentence("Ann Lee lost.", 0, 7)
    shared = TargetInSentence("Ann Lee won and Bob Marsh failed.", 16, 25, ((0, 7),))
    readings = cascade.predict([unsure, sure, shared])
    # the small model reads all three (no structural rule); only the unsure one goes on
    assert small.calls == [[unsure, sure, shared]] and large.calls == [[unsure]]
    assert readings == [NEU, POS, NEG]
