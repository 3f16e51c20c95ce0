"""Elderly mode's reservation (issue 14: "at most 6 options per screen where a list is long"):
instead of one list of ~88 quarter hours, the arrival time is asked in short steps of at most 6
large radios each: the vehicle (only when there are several; at most 5), the day (今天 / 明天 /
后天), the part of the day, the hour, the quarter hour. Each step is a plain GET form carrying
the earlier (and later) answers as hidden fields, so it works without JavaScript, its Back link
returns to the step before with the answer chosen, and an answer that is no longer possible
(the time went by) is simply asked again. The last step POSTs the ReserveForm as standard mode
does; the rules (cut-off, limits, the space) stay in parking.services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from app import clock
from app.templating import format_day
from parking.models import CarPark
from parking.services import costs, reservations

STEPS = ("plate", "day", "part", "hour", "time")
# The parts of the day (first hour, hour after the last), each at most 6 hours: 6 radios.
PARTS = {"night": (0, 6), "morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24)}
PART_LABELS = {
    "night": _l("Early morning (00:00–06:00)"),
    "morning": _l("Morning (06:00–12:00)"),
    "afternoon": _l("Afternoon (12:00–18:00)"),
    "evening": _l("Evening (18:00–24:00)"),
}
DAY_WORDS = (_l("Today"), _l("Tomorrow"), _l("The day after tomorrow"))
MISSING = {
    "plate": _l("Choose a vehicle"),
    "day": _l("Choose the arrival day"),
    "part": _l("Choose the time of day"),
    "hour": _l("Choose the hour"),
    "time": _l("Choose the arrival time"),
}


@dataclass
class Walk:
    """Where the person is: the step to ask (`form[step]`, its choices set), the answers to carry
    (hidden fields), the Back link's query (None: back to the car park) and the answers given so
    far in words (shown above the later questions)."""

    step: str
    kept: list[tuple[str, str]]
    back: dict | None
    given: list[str] = field(default_factory=list)
    last: bool = False


def day_label(day: date) -> str:
    """ "明天，12月2日（周三）" / "Tomorrow, Wed 2 Dec"."""
    offset = (day - clock.today()).days
    if 0 <= offset < len(DAY_WORDS):
        return _("%(words)s, %(date)s", words=DAY_WORDS[offset], date=format_day(day))
    return format_day(day)


def _hhmm(moment) -> str:
    return clock.local(moment).strftime("%H:%M")


def _options(name: str, answers: dict, plates: list[str], days: list[date], park: CarPark):
    """The choices of step `name` given the earlier answers (all valid)."""
    if name == "plate":
        return [SelectChoice(p, p) for p in plates]
    if name == "day":
        return [SelectChoice(d.isoformat(), day_label(d)) for d in days]
    times = reservations.arrival_choices(date.fromisoformat(answers["day"]))
    hours = [clock.local(t).hour for t in times]
    if name == "part":
        return [
            SelectChoice(key, PART_LABELS[key])
            for key, (first, after) in PARTS.items()
            if any(first <= h < after for h in hours)
        ]
    late = _("(cancelling will count as a no-show)")
    if name == "hour":
        first, after = PARTS[answers["part"]]
        choices = []
        for hour in sorted({h for h in hours if first <= h < after}):
            in_hour = [t for t in times if clock.local(t).hour == hour]
            # Marked when every quarter of it is past the free-cancellation cut-off already.
            all_late = all(costs.late_from_the_start(park, t) for t in in_hour)
            label = f"{hour:02d}:00–{hour + 1:02d}:00" + (" " + late if all_late else "")
            choices.append(SelectChoice(str(hour), label))
        return choices
    hour = int(answers["hour"])
    return [
        SelectChoice(
            _hhmm(t), _hhmm(t) + (" " + late if costs.late_from_the_start(park, t) else "")
        )
        for t in times
        if clock.local(t).hour == hour
    ]


def _words(name: str, value: str) -> str:
    """An answer in words, without the no-show mark (the last step shows it where it applies)."""
    if name == "day":
        return day_label(date.fromisoformat(value))
    if name == "part":
        return str(PART_LABELS[value])
    if name == "hour":
        return f"{int(value):02d}:00–{int(value) + 1:02d}:00"
    return value


def walk(form, values, *, plates: list[str], days: list[date], park: CarPark, at=None) -> Walk:
    """The step to ask now, from the answers in `values` (a GET step's query, or the last
    step's POST): `at` (a step named by the caller: where a refusal belongs), else the step after
    the one just `answered` (asked again with "choose ..." when its answer is missing or no longer
    possible), else the step named by `step` (a Back link), else the first. An earlier answer
    that is missing or no longer possible is asked first. Sets the asked field's choices and
    data (the answer given before, if still possible) and its error."""
    steps = [s for s in STEPS if s != "plate" or len(plates) != 1]
    answers = {"plate": plates[0]} if len(plates) == 1 else {}
    answered = values.get("answered")
    if at in steps:
        target = steps.index(at)
    elif answered in steps[:-1]:
        target = steps.index(answered) + 1
    elif values.get("step") in steps:
        target = steps.index(values["step"])
    else:
        target = 0
    given = []
    for index, name in enumerate(steps):
        options = _options(name, answers, plates, days, park)
        value = values.get(name)
        possible = value in {o.value for o in options}
        if index < target and possible:
            answers[name] = value
            given.append(_words(name, value))
            continue
        asked = form[name]
        asked.choices = options
        asked.data = value if possible else None
        if name == answered and not possible:
            asked.errors = [str(MISSING[name])]
        carried = {**{k: values.get(k) for k in STEPS}, **answers}
        kept = [(k, v) for k, v in carried.items() if v and k != name]
        back = None
        if index > 0:
            back = {k: v for k, v in carried.items() if v} | {"step": steps[index - 1]}
        return Walk(name, kept, back, given, last=name == "time")
    raise AssertionError("the last step is always asked")  # target <= len(steps) - 1
