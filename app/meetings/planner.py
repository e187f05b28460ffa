"""The rotation planner: a pure function from (history, districts, venues, rules,
year) to the year's four meetings. No database, no clock: easy to test and explain.

Dates: one meeting per quarter, on the rules' weekday, as near the middle of the
quarter as possible, never on a blocked day (public or school holiday) or in the past.

Districts, for each meeting in turn (earlier choices count as history):
1. not one of the last ``no_repeat`` meetings' districts;
2. among the ``fairness_window`` districts visited least recently (never first;
   districts tied with the last of them count too);
3. within those: the other kind than last time (inner/outer) where possible,
   then one that has a venue, then the least recently visited.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ..shared.districts import District
from ..shared.timeutil import LOCAL


@dataclass(frozen=True)
class Rules:
    weekday: int = 1  # Monday is 0: Tuesday
    start: time = time(18, 0)
    end: time = time(20, 0)
    no_repeat: int = 12  # a district comes back only after this many other meetings
    fairness_window: int = 4


@dataclass(frozen=True)
class PastMeeting:
    day: date
    district: str


@dataclass(frozen=True)
class Proposal:
    quarter: int
    day: date
    start: datetime  # aware, UTC
    end: datetime
    district: str
    kind: str
    venue_id: int | None
    last_visit: date | None  # of the chosen district, before this meeting
    previous: str | None  # the district of the meeting before
    alternates: bool  # inner after outer or the other way round
    skipped: tuple[tuple[date, str], ...]  # nearer dates that were blocked, with why


def _candidate_days(year: int, quarter: int, weekday: int) -> list[date]:
    first = date(year, 3 * quarter - 2, 1)
    after = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
    middle = date(year, 3 * quarter - 1, 15)
    days = [first + timedelta(n) for n in range((after - first).days)]
    days = [d for d in days if d.weekday() == weekday]
    return sorted(days, key=lambda d: (abs((d - middle).days), d))


def _aware(day: date, clock: time) -> datetime:
    """Berlin wall-clock time on that day (summer or winter time), as UTC."""
    return datetime.combine(day, clock, tzinfo=LOCAL).astimezone(UTC)


def plan_year(year: int, history: Sequence[PastMeeting], districts: Sequence[District],
              venues: Mapping[str, int], rules: Rules, blocked: Mapping[date, str],
              today: date, planned_quarters: frozenset[int] | set[int] = frozenset()
              ) -> tuple[list[Proposal], list[int]]:
    """Return the proposals and the quarters for which no date was free; quarters in
    ``planned_quarters`` have their meeting already and get none."""
    kinds = {d.name: d.kind for d in districts}
    past = sorted(history, key=lambda m: m.day)
    proposals, unplanned = [], []
    for quarter in (1, 2, 3, 4):
        if quarter in planned_quarters:
            continue
        skipped = []
        day = None
        for candidate in _candidate_days(year, quarter, rules.weekday):
            if candidate <= today:
                skipped.append((candidate, "past"))
            elif candidate in blocked:
                skipped.append((candidate, blocked[candidate]))
            else:
                day = candidate
                break
        if day is None:
            unplanned.append(quarter)
            continue
        choice = _choose_district(past, districts, kinds, venues, rules)
        previous = past[-1].district if past else None
        proposals.append(Proposal(
            quarter=quarter, day=day,
            start=_aware(day, rules.start), end=_aware(day, rules.end),
            district=choice, kind=kinds[choice], venue_id=venues.get(choice),
            last_visit=_last_visits(past).get(choice), previous=previous,
            alternates=previous is not None and kinds.get(previous) != kinds[choice],
            skipped=tuple(skipped),
        ))
        past.append(PastMeeting(day, choice))
    return proposals, unplanned


def _last_visits(past: Sequence[PastMeeting]) -> dict[str, date]:
    return {meeting.district: meeting.day for meeting in past}  # later ones win


def least_recent_first(past: Sequence[PastMeeting], districts: Sequence[District],
                       rules: Rules) -> list[str]:
    """The districts a meeting may go to, least recently visited (never) first."""
    recent_count = min(rules.no_repeat, len(districts) - 1)
    recent = {m.district for m in past[len(past) - recent_count:]} if recent_count else set()
    last = _last_visits(past)
    eligible = [d.name for d in districts if d.name not in recent]
    return sorted(eligible, key=lambda name: (name in last, last.get(name, date.min), name))


def fairness_window(past: Sequence[PastMeeting], districts: Sequence[District],
                    rules: Rules) -> list[str]:
    """The least recently visited eligible districts, and all tied with the last of them."""
    ranked = least_recent_first(past, districts, rules)
    last = _last_visits(past)
    cutoff = last.get(ranked[min(rules.fairness_window, len(ranked)) - 1])
    return [name for name in ranked
            if ranked.index(name) < rules.fairness_window or last.get(name) == cutoff]


def _choose_district(past, districts, kinds, venues, rules) -> str:
    ranked = least_recent_first(past, districts, rules)
    window = fairness_window(past, districts, rules)
    previous_kind = kinds.get(past[-1].district) if past else None
    return min(window, key=lambda name: (
        kinds[name] == previous_kind,  # alternate inner and outer where possible
        name not in venues,  # prefer districts with a venue
        ranked.index(name),  # then the least recently visited
    ))
