"""The personalization coach: how much of a message is in the visitor's own words, and how
similar it is to what others sent the same recipient today through the same campaign.

It only ever informs: nothing here refuses, holds or delays a message (a copy-paste block
shuts out people who cannot easily type; see docs/action-flow.md). The write page asks it
live; a sent message's similarity is measured afterwards, with the office's other new
messages of the day, by the ``measure-similarity`` job (``measure_pending``).

Texts are compared as sets of word shingles (every run of ``SHINGLE`` consecutive words),
exactly, in plain Python. MinHash (``datasketch``) estimates the same Jaccard figure and pays
off over large corpora indexed ahead of time; here a message meets at most ``RECENT_LIMIT``
texts, where the exact sets are fast enough and need no dependency.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import ColumnElement, select, update

from ..campaigns.models import Campaign
from ..campaigns.schema import CampaignDefinition
from ..extensions import db
from ..i18n import LANGUAGES, gettext, ngettext
from ..urls import day_start
from .models import Action, Contact

SHINGLE = 3
# The most recent messages of the day a new one is compared with: a bound on the work of each
# comparison (a popular office may get thousands in a day; the latest few are representative).
RECENT_LIMIT = 20
_WORD = re.compile(r"[\w']+")
Shingle = tuple[str, ...]


def words(text: str) -> list[str]:
    """The words of ``text``, case-folded, punctuation dropped ("Don’t" is "don't")."""
    return _WORD.findall(text.replace("\u2019", "'").casefold())


def shingles(tokens: list[str]) -> set[Shingle]:
    """Every run of ``SHINGLE`` words; a shorter text is one shingle of all its words."""
    if len(tokens) < SHINGLE:
        return {tuple(tokens)} if tokens else set()
    return set(zip(*(tokens[i:] for i in range(SHINGLE)), strict=False))


def own_share(text: str, template: str) -> float | None:
    """The share (0 to 1) of ``text``'s words that are the visitor's own: words not inside any
    run of ``SHINGLE`` words that the template also has. None for a text without words."""
    tokens = words(text)
    if not tokens:
        return None
    if tokens == words(template):  # the template as written (as first shown, or sent so)
        return 0.0
    if len(tokens) < SHINGLE:
        inside = f" {' '.join(tokens)} " in f" {' '.join(words(template))} "
        return 0.0 if inside else 1.0
    known = shingles(words(template))
    from_template = [False] * len(tokens)
    for start in range(len(tokens) - SHINGLE + 1):
        if tuple(tokens[start : start + SHINGLE]) in known:
            from_template[start : start + SHINGLE] = [True] * SHINGLE
    return from_template.count(False) / len(tokens)


def similarity(first: set[Shingle], second: set[Shingle]) -> float:
    """Jaccard similarity of two shingle sets: 1 for the same words in the same order."""
    if not first and not second:
        return 1.0
    return len(first & second) / len(first | second)


@dataclass(frozen=True)
class Figures:
    """What the coach says about one message."""

    own: float | None  # share of the message's words in the visitor's own words
    others: int  # messages to the same recipient today (through this campaign) compared with
    closest: float | None  # highest similarity to one of them
    average: float | None  # average similarity to them
    as_written: bool = False  # the template's words, all of them, in order

    @property
    def own_percent(self) -> int | None:
        return None if self.own is None else _percent(self.own)

    @property
    def sentences(self) -> list[str]:
        """The coach's words: encouraging and accurate, never a refusal."""
        said: list[str] = []
        if self.own is None:
            return [
                gettext(
                    "Offices give more weight to personal messages: a sentence about why this "
                    "matters to you makes yours stand out."
                )
            ]
        percent = _percent(self.own)
        if self.as_written:
            said.append(gettext("This message is the campaign's text as written."))
        elif self.own == 0:
            said.append(gettext("None of this message is in your own words yet."))
        elif percent >= 90:
            said.append(
                gettext(
                    "About %(percent)s%% of this message is in your own words. Thank you.",
                    percent=percent,
                )
            )
        else:
            said.append(
                gettext(
                    "About %(percent)s%% of this message is in your own words.", percent=percent
                )
            )
        if percent < 90:
            said.append(
                gettext(
                    "Offices give more weight to personal messages: add a sentence about "
                    "why this matters to you."
                )
            )
        if self.others and self.closest is not None and self.average is not None:
            figures = {"closest": _percent(self.closest), "average": _percent(self.average)}
            if self.others >= RECENT_LIMIT:  # only the latest are compared
                sentence = gettext(
                    "At least %(num)s messages have gone to this office through this campaign "
                    "today; yours is about %(closest)s%% the same as the closest one "
                    "(%(average)s%% on average).",
                    num=RECENT_LIMIT,
                    **figures,
                )
            else:
                sentence = ngettext(
                    "%(num)s message has gone to this office through this campaign today; "
                    "yours is about %(closest)s%% the same as the closest one (%(average)s%% on "
                    "average).",
                    "%(num)s messages have gone to this office through this campaign today; "
                    "yours is about %(closest)s%% the same as the closest one (%(average)s%% on "
                    "average).",
                    self.others,
                    **figures,
                )
            said.append(sentence)
        return said


def _percent(share: float) -> int:
    """A share as a whole percentage, never rounded to 0 or 100 when it is not."""
    value = round(100 * share)
    if value == 0 and share > 0:
        return 1
    if value == 100 and share < 1:
        return 99
    return value


def language_groups(translated: Collection[str]) -> list[list[str]]:
    """The site's languages grouped by the text their visitors write from, for a campaign
    translated into ``translated``: a Spanish message is compared with Spanish ones only; a
    campaign without Spanish gives its Spanish-reading visitors the English, so they are
    compared with everyone writing in it."""
    groups: dict[str, list[str]] = {}
    for code in LANGUAGES:
        groups.setdefault(code if code in translated else "en", []).append(code)
    return list(groups.values())


def same_text_languages(definition: CampaignDefinition) -> list[str]:
    """The languages whose visitors write from the same templates as ``definition``'s."""
    for group in language_groups(definition.translations or {}):
        if definition.text_language in group:
            return group
    return [definition.text_language]


def closest(mine: set[Shingle], others: list[set[Shingle]]) -> float | None:
    """The highest similarity of ``mine`` to one of ``others``; None for a text without
    words, or with nothing to compare it with."""
    if not mine or not others:
        return None
    return max(similarity(mine, other) for other in others)


WRITTEN = ("email", "postal")


def _in_languages(languages: Collection[str]) -> ColumnElement[bool]:
    return Contact.action_id.in_(select(Action.id).where(Action.language.in_(languages)))


def recent_bodies(
    campaign_id: int, target_id: str, since: datetime, languages: list[str] | None = None
) -> list[str]:
    """The latest messages (up to ``RECENT_LIMIT``) written to ``target_id`` through the
    campaign since ``since`` by visitors in ``languages`` (default: any). Only their
    shingles are used; no text leaves this module."""
    in_languages = [_in_languages(languages)] if languages is not None else []
    return list(
        db.session.scalars(
            select(Contact.body)
            .where(
                *in_languages,
                Contact.campaign_id == campaign_id,
                Contact.target_id == target_id,
                Contact.channel.in_(WRITTEN),
                Contact.created_at >= since,
                Contact.body.is_not(None),
            )
            .order_by(Contact.created_at.desc(), Contact.id.desc())
            .limit(RECENT_LIMIT)
        )
    )


def figures(text: str, template: str, others: list[str]) -> Figures:
    """The coach's figures for ``text``, written from ``template``, among ``others``."""
    own = own_share(text, template)
    as_written = own is not None and words(text) == words(template)
    if own is None or not others:
        return Figures(own, len(others), None, None, as_written)
    mine = shingles(words(text))
    scores = [similarity(mine, shingles(words(body))) for body in others]
    return Figures(own, len(scores), max(scores), sum(scores) / len(scores), as_written)


# -- measuring the sent messages (the measure-similarity job) --------------------------------


def measure_pending() -> int:
    """Measure every written message the send left to be measured (``similarity_pending``),
    one campaign, office, day and text language at a time, each committed on its own.
    Returns how many."""
    waiting = db.session.execute(
        select(Contact.campaign_id, Contact.target_id, Contact.created_at, Action.language)
        .join(Action, Action.id == Contact.action_id)
        .where(Contact.similarity_pending.is_(True))
    ).all()
    groups = {id_: _campaign_language_groups(id_) for id_ in {row.campaign_id for row in waiting}}
    db.session.rollback()  # nothing held open between the question and the writes

    def office_day(row: Any) -> tuple[int, str, datetime, tuple[str, ...]]:
        # (a language the site no longer offers is measured on its own)
        languages = next((g for g in groups[row.campaign_id] if row.language in g), [row.language])
        return row.campaign_id, row.target_id, day_start(row.created_at), tuple(languages)

    measured = 0
    ordered = sorted(waiting, key=lambda row: (office_day(row), row.created_at))
    for (campaign_id, target_id, day, languages), rows in groupby(ordered, key=office_day):
        times = [row.created_at for row in rows]
        measured += _measure_office_day(campaign_id, target_id, day, times[0], times[-1], languages)
    return measured


def _campaign_language_groups(campaign_id: int) -> list[list[str]]:
    """``language_groups`` of the campaign as it is now (its current version's translations)."""
    campaign = db.session.get(Campaign, campaign_id)
    version = campaign.current_version if campaign is not None else None
    translated = (version.definition.get("translations") or {}) if version is not None else {}
    return language_groups(translated)


def _measure_office_day(
    campaign_id: int,
    target_id: str,
    day: datetime,
    first: datetime,
    last: datetime,
    languages: Collection[str],
) -> int:
    """Measure the waiting messages to one office through one campaign on one day (written
    from ``first`` to ``last``) by visitors writing from the same text (``languages``): each
    against the latest ``RECENT_LIMIT`` such messages before it that day, as the coach
    compares a visitor's message. Each text is read and cut into shingles once, however many
    of the waiting messages it is compared with."""
    office = (
        Contact.campaign_id == campaign_id,
        Contact.target_id == target_id,
        Contact.channel.in_(WRITTEN),
        _in_languages(languages),
    )
    before = db.session.scalars(
        select(Contact.body)
        .where(
            *office,
            Contact.created_at >= day,
            Contact.created_at < first,
            Contact.body.is_not(None),
        )
        .order_by(Contact.created_at.desc(), Contact.id.desc())
        .limit(RECENT_LIMIT)
    ).all()
    # The latest messages before the one being measured, oldest first.
    recent = deque((shingles(words(body or "")) for body in reversed(before)), maxlen=RECENT_LIMIT)
    results = []
    rows = db.session.execute(
        select(Contact.id, Contact.body, Contact.similarity_pending)
        .where(*office, Contact.created_at >= first, Contact.created_at <= last)
        .order_by(Contact.created_at, Contact.id)
    ).all()
    for row in rows:
        # A text retention has removed meanwhile has no figure, and nothing to compare with.
        mine = shingles(words(row.body)) if row.body is not None else set()
        if row.similarity_pending:
            score = closest(mine, list(recent))
            results.append({"id": row.id, "similarity": score, "similarity_pending": False})
        if row.body is not None:
            recent.append(mine)
    if results:
        db.session.execute(update(Contact), results)  # by primary key, one statement
    db.session.commit()
    return len(results)
