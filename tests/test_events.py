"""Event features (feeds.dedup.events) and their use in the story decision (feeds.dedup.stories)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from feeds.dedup.events import (
    EVENT_PREFIX,
    ages,
    compare_events,
    event_keys,
    lead_dates,
    magnitudes,
    records,
    tolls,
)
from feeds.dedup.stories import (
    MIN_SIMILARITY,
    MIN_SUPPORTED_SIMILARITY,
    NAME_SUPPORT,
    PairEvidence,
    StoryCandidate,
    article_vector,
    choose_story,
    merge_signature,
    pair_evidence,
    qualifies,
    required_similarity,
    top_terms,
)

# A Thursday.
PUBLISHED = datetime(2013, 5, 2, 18, 0, tzinfo=UTC)

FIGHT = (
    "Wladimir Klitschko stopped Tony Thompson in the sixth round on Saturday to keep his "
    "heavyweight belts in Berne.\n"
    "The 36-year-old champion, 58-3 with 51 knockouts, floored Thompson twice.\n"
    "Thompson, 40, fell to 36-3 and said he would not fight again."
)
OLD_FIGHT = (
    "Wladimir Klitschko defended his heavyweight crown by stopping Hasim Rahman in the "
    "seventh round in Mannheim on Saturday.\n"
    "Klitschko, 52-3 with 46 knockouts, hit the shorter Rahman at will.\n"
    "Rahman, 45-7, said the champion was the best he had faced."
)
FIGHT_FOLLOW_UP = (
    "Klitschko said on Sunday he wanted a unification bout after his sixth-round win.\n"
    "The Ukrainian, now 58-3, was never troubled by Thompson in Berne."
)


def test_lead_dates_resolve_written_and_relative_days() -> None:
    text = "Lindsay Lohan checked into a clinic on Tuesday.\nMay 01 , 2013\nHer lawyer spoke."
    found = lead_dates("Lohan enters rehab", text, PUBLISHED)
    # "on Tuesday" in a Thursday paper is two days back; the written date stands as is.
    assert found == {date(2013, 4, 30), date(2013, 5, 1)}
    assert lead_dates("", "Police said yesterday that the road was shut.", PUBLISHED) == {
        date(2013, 5, 1)
    }
    # On the named weekday itself, "Thursday" is that day.
    assert lead_dates("", "The vote is on Thursday.", PUBLISHED) == {date(2013, 5, 2)}


def test_a_date_without_a_year_takes_the_nearest_year() -> None:
    january = datetime(2014, 1, 3, tzinfo=UTC)
    # "December 30" in early January is last year's, "3 March" next March or this one.
    assert lead_dates("", "The fire broke out on December 30.", january) == {date(2013, 12, 30)}
    assert lead_dates("", "Talks resume on 3rd of March.", january) == {date(2014, 3, 3)}
    # An impossible day is ignored rather than guessed.
    assert lead_dates("", "It happened on February 30.", january) == set()


def test_only_the_lead_dates_the_event() -> None:
    text = "Line one.\nLine two.\nLine three.\nShe was first treated there on June 8, 2010."
    assert lead_dates("Headline", text, PUBLISHED) == set()


def test_magnitudes_tolls_ages_and_records() -> None:
    quake = (
        "A magnitude 6.1 earthquake killed 14 people. A 5.4-magnitude aftershock followed "
        "and the death toll rose to 1,200 by evening; in 2010, 300 people were killed."
    )
    assert magnitudes(quake) == {"6.1", "5.4"}
    assert magnitudes("The quake had a magnitude of 6.") == {"6.0"}
    assert tolls(quake) == {14, 1200, 300}  # "in 2010 ... killed": 2010 is a year, not a toll
    assert tolls("Three dead.") == set()  # words are not figures
    assert ages(FIGHT) == {36, 40}
    assert ages("The 33 - year - old actress was not named.") == {33}
    assert records(FIGHT) == {"58-3", "36-3"}
    # Seasons, compounds and longer runs of figures are not records.
    assert records("In 2008-09 the 10-day trip, a 1-2-3 finish, a 36 - year - old") == set()


def test_event_keys_carry_every_kind_under_the_prefix() -> None:
    keys = event_keys("Klitschko stops Thompson", FIGHT, PUBLISHED)
    assert all(k.startswith(EVENT_PREFIX) for k in keys)
    # "on Saturday" in a Thursday paper: relative dates are kept apart from written ones.
    assert {"@r:2013-04-27", "@a:36", "@a:40", "@s:58-3", "@s:36-3"} <= set(keys)
    assert not any(k.startswith("@d:") for k in keys)


def test_compare_events_agrees_on_shared_figures_and_conflicts_on_other_records() -> None:
    fight = event_keys("", FIGHT, PUBLISHED)
    follow_up = event_keys("", FIGHT_FOLLOW_UP, PUBLISHED + timedelta(days=1))
    old = event_keys("", OLD_FIGHT, PUBLISHED)
    same = compare_events(follow_up, fight)
    assert same.agree == 1 and not same.conflict  # 58-3 on both sides
    other = compare_events(old, fight)
    assert other.conflict  # 52-3 and 45-7 against 58-3 and 36-3: another fight
    # Nothing stated on one side: nothing to agree or disagree about.
    assert compare_events({}, fight).agree == 0 and not compare_events({}, fight).conflict


def test_written_dates_a_day_apart_agree_and_relative_ones_are_ignored() -> None:
    one = {"@d:2013-05-02": 1.0, "@r:2013-04-01": 1.0}
    assert compare_events(one, {"@d:2013-05-03": 1.0}).agree == 1
    assert compare_events(one, {"@d:2013-05-05": 1.0}).agree == 0
    # A date disagreement is not a conflict (the lead also recalls earlier events).
    assert not compare_events(one, {"@d:2012-01-01": 1.0}).conflict
    assert compare_events(one, {"@r:2013-04-01": 1.0}).agree == 0


def test_ages_and_magnitudes_agree_but_do_not_conflict() -> None:
    assert compare_events({"@a:33": 1.0}, {"@a:33": 2.0, "@a:41": 1.0}).agree == 1
    assert not compare_events({"@a:33": 1.0}, {"@a:26": 1.0}).conflict
    assert compare_events({"@m:6.1": 1.0}, {"@m:6.1": 1.0}).agree == 1
    assert not compare_events({"@m:6.1": 1.0}, {"@m:6.0": 1.0}).conflict


def test_required_similarity_falls_with_evidence_down_to_a_floor() -> None:
    assert required_similarity(0) == MIN_SIMILARITY
    assert required_similarity(1) < MIN_SIMILARITY
    assert required_similarity(10) == MIN_SUPPORTED_SIMILARITY


def test_pair_evidence_counts_agreeing_features_and_names_and_refuses_conflicts() -> None:
    fight = _story(1, "", FIGHT)
    follow_up = {
        **article_vector("", FIGHT_FOLLOW_UP),
        **event_keys("", FIGHT_FOLLOW_UP, PUBLISHED),
    }
    pair = pair_evidence(follow_up, PUBLISHED, fight)
    assert pair is not None
    assert pair.agree == 1 and pair.names >= NAME_SUPPORT and pair.hours == 0  # record, names
    assert qualifies(pair) == (True, pair.terms)  # the hand rule ranks by the term cosine
    old = {**article_vector("", OLD_FIGHT), **event_keys("", OLD_FIGHT, PUBLISHED)}
    assert pair_evidence(old, PUBLISHED, fight) is None  # another record: another fight
    empty = StoryCandidate(2, PUBLISHED, PUBLISHED, {})
    later = PUBLISHED + timedelta(hours=5)
    assert pair_evidence({}, later, empty) == PairEvidence(0, 0, 0, 5, named=False)


def _story(story_id: int, title: str, text: str) -> StoryCandidate:
    vector = {**article_vector(title, text), **event_keys(title, text, PUBLISHED)}
    return StoryCandidate(story_id, PUBLISHED, PUBLISHED, merge_signature({}, vector))


def test_signatures_keep_event_keys_out_of_the_terms() -> None:
    story = _story(1, "Klitschko stops Thompson", FIGHT)
    assert "@s:58-3" in story.signature
    assert not any(t.startswith(EVENT_PREFIX) for t in top_terms(story.signature, 500))


def test_another_fight_of_the_same_champion_is_another_story() -> None:
    story = _story(1, "Klitschko stops Thompson", FIGHT)
    title = "Klitschko stops Rahman"
    vector = {**article_vector(title, OLD_FIGHT), **event_keys(title, OLD_FIGHT, PUBLISHED)}
    assert choose_story(vector, PUBLISHED, [story]).story_id is None
    # Without its figures the same article would have joined: the words and the
    # champion's name are shared.
    words_only = article_vector(title, OLD_FIGHT)
    assert choose_story(words_only, PUBLISHED, [story]).story_id == 1


def test_a_short_follow_up_joins_on_shared_evidence_below_the_plain_threshold() -> None:
    story = _story(1, "Klitschko stops Thompson", FIGHT)
    title = "Champion eyes unification"
    text = (
        "Klitschko, 58-3, told reporters on Sunday that he wanted a unification bout in the "
        "autumn, perhaps against the Russian titleholder.\n"
        "His promoter named no date, no purse and no venue."
    )
    when = PUBLISHED + timedelta(hours=20)
    vector = {**article_vector(title, text), **event_keys(title, text, when)}
    choice = choose_story(vector, when, [story])
    assert choice.story_id == 1
    # It joins on the evidence (the record, the names), not on the words alone.
    assert MIN_SUPPORTED_SIMILARITY <= choice.similarity < MIN_SIMILARITY
    terms_only = {k: w for k, w in vector.items() if not k.startswith(("=", EVENT_PREFIX))}
    assert choose_story(terms_only, when, [story]).story_id is None
    # The same words with the other fight's record are refused outright.
    other = text.replace("58-3", "52-3")
    vector = {**article_vector(title, other), **event_keys(title, other, when)}
    assert choose_story(vector, when, [story]).story_id is None
