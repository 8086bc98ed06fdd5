"""Source or subject: is a mention the one *speaking* in its sentence?

"UK intelligence shared another scathing insight into Moscow's war effort" is scathing
about Moscow; the UK is only where the assessment comes from. A model that reads tone
around a name tends to give the source the tone of what it reports, so a monitoring desk
would see its neutral sources turn negative whenever they criticise someone. Reported
speech and attribution must not colour the source.

The rule (pure text, explainable)
---------------------------------
A mention is a **source** when, within its sentence,

* it is followed by an attribution: optional possessive, up to four words from a short
  list of source nouns ("intelligence", "ministry", "officials", "update", "spokesman" …)
  or adverbs ("also", "later"), optionally an auxiliary ("has", "had"), then a *neutral*
  reporting verb ("said", "told", "shared", "explained", "assessed", "speculated" …); or
* it follows "according to (the)", or a neutral reporting verb right after a comma or a
  closing quote ("…,” said the ministry"; but in "Trump said Biden …" Biden is the subject).

Verbs that judge the speaker ("admitted", "boasted", "falsely claimed", "backtracked")
are not in the list: they say something *about* the speaker, so the model reads them.

A source mention is read as neutral in that sentence (it still counts as a mention and may
be the evidence of a neutral verdict); its other sentences are read by the model as usual.
"""

from __future__ import annotations

import re

# neutral verbs of saying and reporting, past and present; never verbs that judge
_REPORTING = (
    r"said|says|say|told|tells|tell|shared|shares|reported|reports|stated|states|explained|"
    r"explains|noted|notes|added|adds|announced|announces|assessed|assesses|estimated|"
    r"estimates|speculated|speculates|suggested|suggests|wrote|writes|published|publishes|"
    r"briefed|briefs|observed|observes|predicted|predicts|forecast|forecasts|described|"
    r"describes|confirmed|confirms|concluded|concludes|judged|judges|believes|believed|"
    r"understands|understood|revealed|reveals|updated|updates|indicated|indicates|"
    r"warned|warns|commented|comments|tweeted|posted"
)
_SOURCE_NOUNS = (
    r"intelligence|ministry|minister|officials?|spokes(?:man|woman|person)|government|"
    r"defence|defense|department|office|agency|update|updates|report|reports|assessment|"
    r"assessments|statement|statements|briefing|analysts?|sources?|authorities|"
    r"military|foreign|service|services|experts?|researchers?|data|figures|also|later|"
    r"then|now|previously|earlier|recently|separately|on|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|latest|daily|new|own|has|have|had|was|is|in|a|an|the|"
    r"its|their"
)
_AFTER = re.compile(
    rf"^(?:[’']s?)?(?:\s+\(?[A-Z][\w.]*\)?)?"  # possessive, an acronym in brackets: "(MoD)"
    rf"(?:\s+(?:{_SOURCE_NOUNS})\b){{0,4}}"
    rf"\s+(?:{_REPORTING})\b",
    re.IGNORECASE,
)
_BEFORE = re.compile(
    rf"(?:\baccording\s+to|[,”\"]\s*(?:{_REPORTING}))\s+(?:the\s+)?(?:[\w’']+\s+){{0,2}}$",
    re.IGNORECASE,
)
_WINDOW = 80  # characters looked at on either side


def is_source(sentence: str, start: int, end: int) -> bool:
    """Whether ``sentence[start:end]`` is the attributed source of its sentence."""
    if _AFTER.match(sentence[end : end + _WINDOW]):
        return True
    before = sentence[max(0, start - _WINDOW) : start]
    return bool(_BEFORE.search(before))
