"""Near-duplicate fingerprints and story decisions: the pure core of feeds.dedup.neardup/stories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feeds.dedup.neardup import (
    BANDS,
    MIN_RESEMBLANCE,
    fingerprint,
    resemblance,
    shingles,
)
from feeds.dedup.stories import (
    MIN_SIMILARITY,
    NAME_PREFIX,
    WINDOW,
    StoryCandidate,
    article_vector,
    choose_story,
    cosine,
    event_time,
    merge_signature,
    name_vector,
    names_conflict,
    term_vector,
    top_terms,
)

WIRE = (
    "Rescue teams searched collapsed buildings in the hill town of Ardmore on Tuesday after "
    "a magnitude 6.1 earthquake struck before dawn, killing at least twelve people.\n"
    "The regional governor, Maren Olsted, said three schools and the old market hall had "
    "been destroyed and that aftershocks were hampering the search.\n"
    "Hospitals in the neighbouring city of Kessel took in more than eighty injured, many "
    "of them children pulled from the rubble by neighbours.\n"
    "The national seismology office said the quake was centred eleven kilometres below the "
    "valley floor and warned of further tremors over the coming days."
)
OTHER_QUAKE = (
    "A strong earthquake shook the coastal province of Belmora on Friday, damaging the "
    "harbour wall and cutting power to thousands of homes.\n"
    "Officials in the port of Lisk reported two deaths and dozens of people injured as "
    "fishing boats were thrown against the quay.\n"
    "The seismology office measured the quake at magnitude 5.8 and said it was centred "
    "offshore at a shallow depth."
)
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

# Two arrests of the same kind, written from the same template: what differs is who,
# where and when -- the case the name guard exists for.
ARREST = (
    "Police in Harwick arrested Dmitri Valesko on Monday over the armed robbery of a "
    "jeweller on Quarry Street, in which a guard was shot.\n"
    "Detective inspector Lena Marsh said the suspect had been traced through a stolen "
    "motorcycle found abandoned near the canal.\n"
    "The suspect, who appeared before magistrates later, was remanded in custody "
    "and will face charges of robbery and attempted murder."
)
OTHER_ARREST = (
    "Police in Tolmere arrested Conrad Ashby on Monday over the armed robbery of a "
    "jeweller on Mill Lane, in which a guard was shot.\n"
    "Detective inspector Priya Okafor said the suspect had been traced through a stolen "
    "motorcycle found abandoned near the canal.\n"
    "The suspect, who appeared before magistrates later, was remanded in custody "
    "and will face charges of robbery and attempted murder."
)
ARREST_FOLLOW_UP = (
    "A man accused of shooting a security guard during a raid on a Harwick jewellery "
    "shop has been refused bail.\n"
    "Dmitri Valesko, 34, spoke only to confirm his name. Prosecutors told the court the "
    "getaway motorbike had been stolen a week earlier.\n"
    "Valesko's lawyer said his client would deny every charge."
)


def test_edited_copies_resemble_and_share_bands() -> None:
    lines = WIRE.split("\n")
    dropped = "\n".join(lines[:2] + lines[3:])
    prefixed = "KESSEL (Newswire) - " + WIRE
    original, original_bands = fingerprint(WIRE)
    assert len(original_bands) == BANDS
    for copy in (dropped, prefixed, WIRE.replace("twelve", "13")):
        body, bands = fingerprint(copy)
        assert resemblance(original, body) >= MIN_RESEMBLANCE
        assert set(bands) & set(original_bands)


def test_different_articles_on_similar_events_do_not_resemble() -> None:
    assert resemblance(shingles(WIRE), shingles(OTHER_QUAKE)) < 0.1


def test_short_bodies_never_match_and_are_not_indexed() -> None:
    teaser = "Rescue teams searched collapsed buildings in Ardmore."
    body, bands = fingerprint(teaser)
    assert bands == ()
    assert resemblance(body, body) == 0.0


def test_band_keys_are_the_same_in_every_process() -> None:
    # Fixed hash functions: the key of a text never depends on the process or the run.
    assert fingerprint(WIRE)[1] == fingerprint(WIRE + " ")[1]
    assert all(0 <= key < 2**63 for key in fingerprint(WIRE)[1])


def test_rare_names_outweigh_common_words() -> None:
    vector = term_vector("Earthquake in Ardmore", WIRE)
    assert "said" not in vector and "the" not in vector
    assert vector["ardmore"] > vector["earthquake"] > vector.get("people", 0.0)
    assert "ardmore" in top_terms(vector, 5)


def _candidate(story_id: int, text: str, start: datetime, title: str = "") -> StoryCandidate:
    return StoryCandidate(story_id, start, start, merge_signature({}, article_vector(title, text)))


def test_choose_story_joins_the_same_event_and_keeps_another_apart() -> None:
    follow_up = (
        "Survivors in Ardmore spent a second night outdoors as aftershocks continued.\n"
        "Governor Maren Olsted said the death toll from the earthquake had risen to fifteen "
        "and that the market hall would be rebuilt. Hospitals in Kessel asked for blood."
    )
    vector = term_vector("Ardmore death toll rises", follow_up)
    same = _candidate(1, WIRE, T0)
    other = _candidate(2, OTHER_QUAKE, T0)
    choice = choose_story(vector, T0 + timedelta(hours=20), [other, same])
    assert choice.story_id == 1 and choice.similarity >= MIN_SIMILARITY
    alone = choose_story(vector, T0 + timedelta(hours=20), [other])
    assert alone.story_id is None


def test_time_window_separates_recurring_events() -> None:
    vector = term_vector("", WIRE)
    story = _candidate(7, WIRE, T0)
    assert choose_story(vector, T0 + WINDOW, [story]).story_id == 7
    assert choose_story(vector, T0 + WINDOW + timedelta(minutes=1), [story]).story_id is None
    assert choose_story(vector, T0 - WINDOW - timedelta(minutes=1), [story]).story_id is None


def test_ties_go_to_the_older_story() -> None:
    vector = term_vector("", WIRE)
    a, b = _candidate(9, WIRE, T0), _candidate(4, WIRE, T0)
    assert choose_story(vector, T0, [a, b]).story_id == 4


def test_event_time_distrusts_future_dates() -> None:
    assert event_time(None, T0) == T0
    assert event_time(T0 - timedelta(days=3), T0) == T0 - timedelta(days=3)
    assert event_time(T0 + timedelta(days=2), T0) == T0


def test_names_are_capitalised_words_inside_sentences_and_figures() -> None:
    names = name_vector("Quake kills twelve in Ardmore", WIRE)
    keys = {k.removeprefix(NAME_PREFIX) for k in names}
    assert {"ardmore", "maren", "olsted", "kessel", "6.1"} <= keys
    # Capitalised only because a sentence starts with them: not names.
    assert not keys & {"rescue", "hospitals", "the", "quake", "kills"}
    assert max(names, key=names.__getitem__) == NAME_PREFIX + "ardmore"  # in the headline
    assert name_vector("", "no names here at all, only words.") == {}


def test_a_rare_word_that_only_starts_sentences_is_still_a_name() -> None:
    text = "Valesko was arrested on Monday.\nValesko's lawyer said nothing.\nPolice said so."
    keys = set(name_vector("", text))
    assert NAME_PREFIX + "valesko" in keys and NAME_PREFIX + "police" not in keys


def test_names_are_kept_apart_from_terms() -> None:
    vector = article_vector("Ardmore earthquake", WIRE)
    signature = merge_signature({}, vector)
    assert any(k.startswith(NAME_PREFIX) for k in signature)
    assert not any(t.startswith(NAME_PREFIX) for t in top_terms(signature, 200))
    assert "ardmore" in signature and NAME_PREFIX + "ardmore" in signature


def test_names_conflict_only_when_the_salient_names_share_nothing() -> None:
    one, other = name_vector("", ARREST), name_vector("", OTHER_ARREST)
    assert names_conflict(one, other)
    assert not names_conflict(one, name_vector("", ARREST_FOLLOW_UP))
    # Without names on one side there is nothing to disagree about.
    assert not names_conflict(one, {})
    assert not names_conflict({}, other)


def test_same_kind_of_event_with_other_names_stays_apart() -> None:
    when = T0 + timedelta(hours=3)
    vector = article_vector("Jeweller robbery suspect arrested", OTHER_ARREST)
    story = _candidate(1, ARREST, T0, "Jeweller robbery suspect arrested")
    # The words alone would merge them: same template, same kind of event...
    terms_only = {k: w for k, w in vector.items() if not k.startswith(NAME_PREFIX)}
    story_terms = {k: w for k, w in story.signature.items() if not k.startswith(NAME_PREFIX)}
    assert cosine(terms_only, story_terms) >= MIN_SIMILARITY
    # ...the names keep them apart.
    assert choose_story(vector, when, [story]).story_id is None


def test_same_event_in_other_words_joins_despite_new_names() -> None:
    vector = article_vector("Harwick robbery suspect refused bail", ARREST_FOLLOW_UP)
    same = _candidate(1, ARREST, T0, "Jeweller robbery suspect arrested in Harwick")
    other = _candidate(2, OTHER_ARREST, T0, "Jeweller robbery suspect arrested in Tolmere")
    choice = choose_story(vector, T0 + timedelta(hours=30), [other, same])
    assert choice.story_id == 1 and choice.similarity >= MIN_SIMILARITY
