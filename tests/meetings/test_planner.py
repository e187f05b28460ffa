"""The rotation planner, a pure function, over many random histories."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.meetings.holidays_bw import blocked_days
from app.meetings.planner import PastMeeting, Rules, fairness_window, least_recent_first, plan_year
from app.shared.districts import load
from app.shared.timeutil import local

DISTRICTS = load(None)
NAMES = [d.name for d in DISTRICTS]
KIND = {d.name: d.kind for d in DISTRICTS}
RULES = Rules()
BLOCKED_2027 = blocked_days(2027)


def history_before(year, districts_in_order):
    """Quarterly meetings ending just before ``year``."""
    start = date(year, 1, 1) - timedelta(days=91 * len(districts_in_order))
    return [PastMeeting(start + timedelta(days=91 * n), name)
            for n, name in enumerate(districts_in_order)]


histories = st.lists(st.sampled_from(NAMES), max_size=60)
venue_sets = st.sets(st.sampled_from(NAMES))


@settings(max_examples=300, deadline=None)
@given(order=histories, with_venue=venue_sets)
def test_properties_over_random_histories(order, with_venue):
    history = history_before(2027, order)
    venues = {name: n for n, name in enumerate(sorted(with_venue), start=1)}
    proposals, unplanned = plan_year(2027, history, DISTRICTS, venues, RULES, BLOCKED_2027,
                                     today=date(2026, 11, 21))
    assert unplanned == []
    # Four meetings, one per quarter, on the weekday and time, never on a blocked day.
    assert [p.quarter for p in proposals] == [1, 2, 3, 4]
    for p in proposals:
        assert (p.day.month - 1) // 3 + 1 == p.quarter
        assert p.day.weekday() == RULES.weekday and p.day not in BLOCKED_2027
        assert local(p.start).time() == RULES.start and local(p.end).time() == RULES.end
        assert local(p.start).date() == p.day
        assert p.venue_id == venues.get(p.district)
    # Fairness: no district within the last N meetings, and every choice visited no
    # more recently than the K-th least recently visited district.
    past = list(history)
    for p in proposals:
        assert p.district not in [m.district for m in past[-RULES.no_repeat:]]
        ranked = least_recent_first(past, DISTRICTS, RULES)
        last = {m.district: m.day for m in past}
        kth = ranked[RULES.fairness_window - 1]
        assert last.get(p.district, date.min) <= last.get(kth, date.min)
        past.append(PastMeeting(p.day, p.district))


@settings(max_examples=100, deadline=None)
@given(order=histories)
def test_alternates_inner_and_outer_where_possible(order):
    history = history_before(2027, order)
    proposals, _ = plan_year(2027, history, DISTRICTS, {}, RULES, BLOCKED_2027,
                             today=date(2026, 11, 21))
    past = list(history)
    for p in proposals:
        window = fairness_window(past, DISTRICTS, RULES)
        previous_kind = KIND[past[-1].district] if past else None
        if previous_kind and any(KIND[name] != previous_kind for name in window):
            assert p.kind != previous_kind
        past.append(PastMeeting(p.day, p.district))


def test_prefers_districts_with_a_venue():
    history = history_before(2027, ["Mitte"])
    # All other districts tie (never visited); outer ones are wanted after Mitte, and
    # of those the one with a venue wins.
    proposals, _ = plan_year(2027, history, DISTRICTS, {"Ost": 3, "Zuffenhausen": 8},
                             RULES, BLOCKED_2027, today=date(2026, 11, 21))
    assert proposals[0].district == "Zuffenhausen" and proposals[0].venue_id == 8
    assert proposals[1].district == "Ost"  # inner again, with a venue


def test_empty_history_and_ten_years_visit_every_district():
    past, seen = [], []
    for year in range(2027, 2037):
        proposals, unplanned = plan_year(year, past, DISTRICTS, {"Mitte": 1, "Vaihingen": 2},
                                         RULES, blocked_days(year), today=date(2026, 11, 21))
        assert unplanned == [] and len(proposals) == 4
        for p in proposals:
            past.append(PastMeeting(p.day, p.district))
            seen.append(p.district)
    assert set(seen) == set(NAMES)
    # A district never comes back within N meetings.
    for n, name in enumerate(seen):
        assert name not in seen[max(0, n - RULES.no_repeat):n]


def test_a_year_across_daylight_saving_changes():
    proposals, _ = plan_year(2027, [], DISTRICTS, {}, RULES, BLOCKED_2027,
                             today=date(2026, 11, 21))
    offsets = {p.quarter: local(p.start).utcoffset() for p in proposals}
    assert offsets[1] == timedelta(hours=1)  # February: winter time
    assert offsets[2] == offsets[3] == timedelta(hours=2)  # May, August: summer time
    assert offsets[4] == timedelta(hours=1)  # November: winter time again
    # 18:00 Berlin time is 17:00 UTC in winter and 16:00 UTC in summer.
    assert proposals[0].start.hour == 17 and proposals[1].start.hour == 16


def test_holidays_and_past_days_are_skipped():
    # 2027-05-18 (Tuesday, middle of Q2) is in the Pfingstferien.
    proposals, _ = plan_year(2027, [], DISTRICTS, {}, RULES, BLOCKED_2027,
                             today=date(2026, 11, 21))
    assert proposals[1].day == date(2027, 5, 11)
    assert any("Pfingstferien" in reason for _, reason in proposals[1].skipped)
    late, _ = plan_year(2027, [], DISTRICTS, {}, RULES, BLOCKED_2027, today=date(2027, 2, 20))
    assert late[0].day > date(2027, 2, 20)
