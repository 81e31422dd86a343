"""Generate ``app/calendar/data/cn_official_2004_2026.json`` from two holiday libraries.

Run once by a developer (the service never imports ``holidays`` or ``chinesecalendar``)::

    pip install holidays chinesecalendar
    python scripts/generate_cn_calendar.py            # writes the JSON
    python scripts/generate_cn_calendar.py --check    # fails if the committed JSON is stale

What it does:

1. For every date 2004-01-01 .. 2026-12-31 it asks both libraries whether the day is a working
   day (``holidays.CN.is_working_day`` and ``chinese_calendar.is_workday``) and prints every
   disagreement.
2. Each disagreement must have an entry in ``RESOLUTIONS`` below, decided from the published
   State Council notice; an unexplained disagreement aborts the run, because silently picking
   one library is exactly how a wrong deadline gets into production.
3. It asserts the facts that DOMAIN.md states (2025 and 2026 make-up days, 2025 National Day),
   so a library upgrade that regresses them cannot produce a file.
4. It records only exceptions to the plain weekend rule, plus weekend days inside a holiday
   period (labelled, ``"weekend": true``, status unchanged), sorted by date. The output is a
   pure function of the two library versions: running it twice gives the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import chinese_calendar  # type: ignore[import-untyped]
import holidays

FIRST_YEAR = 2004
LAST_YEAR = 2026
OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "app"
    / "calendar"
    / "data"
    / f"cn_official_{FIRST_YEAR}_{LAST_YEAR}.json"
)


@dataclass(frozen=True)
class Resolution:
    """The decided status of a date on which the two libraries disagree."""

    working: bool
    right: str  # which library the published notice agrees with
    reason: str


# Every day-level disagreement between the libraries, decided from the published notice.
RESOLUTIONS: dict[dt.date, Resolution] = {
    dt.date(2005, 12, 31): Resolution(
        working=True,
        right="holidays",
        reason=(
            "2005-12-31 (Sat) was a working day: the State Council notice on the 2006 holiday "
            "arrangements moved it to Tue 2006-01-03, which was a day off. "
            "chinesecalendar treats it as a plain Saturday (rest) and gives no holiday name; "
            "holidays has it in weekend_workdays and 2006-01-03 as 'Day off (substituted from "
            "12/31/2005)'. Resolved: working, make-up day for New Year's Day."
        ),
    ),
}

# Weekend days inside a published holiday period that neither library labels. Labels only: a
# weekend day is a rest day either way, so these cannot change any deadline.
EXTRA_WEEKEND_LABELS: dict[dt.date, tuple[str, str]] = {
    dt.date(2015, 9, 5): (
        "Anti-Fascist 70th Day",
        "2015-09-05 (Sat) is labelled 'Anti-Fascist 70th Day' by hand: the 2015 notice gives "
        "Sep 3-5 off (Sep 6, Sun, worked); neither library names the Saturday.",
    ),
}

# Facts stated in DOMAIN.md section 2.1, checked against the final data.
KNOWN_WORKING = [
    dt.date(2005, 12, 31),
    dt.date(2025, 9, 28),
    dt.date(2025, 10, 11),
    dt.date(2026, 1, 4),
    dt.date(2026, 2, 14),
    dt.date(2026, 2, 28),
    dt.date(2026, 5, 9),
    dt.date(2026, 9, 20),
    dt.date(2026, 10, 10),
]
KNOWN_REST = [dt.date(2025, 10, d) for d in range(1, 9)]

# Names as chinesecalendar spells them (its Holiday enum); `holidays` names are mapped onto these
# so that both sources speak one vocabulary.
_HOLIDAYS_NAME_MAP = [
    ("New Year's Day", "New Year's Day"),
    ("Spring Festival", "Spring Festival"),
    ("Chinese New Year", "Spring Festival"),
    ("Tomb-Sweeping", "Tomb-sweeping Day"),
    ("Labor Day", "Labour Day"),
    ("Dragon Boat", "Dragon Boat Festival"),
    ("Mid-Autumn", "Mid-autumn Festival"),
    ("National Day", "National Day"),
    ("Anti-Fascist", "Anti-Fascist 70th Day"),
]
_SUBSTITUTED_PREFIX = "Day off (substituted from "


def _is_weekend(day: dt.date) -> bool:
    return day.weekday() >= 5


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _canonical_names(holidays_name: str | None) -> list[str]:
    """Map a `holidays` label (possibly 'A; B') to chinesecalendar's names."""
    if holidays_name is None:
        return []
    found: list[str] = []
    for part in holidays_name.split("; "):
        for needle, canonical in _HOLIDAYS_NAME_MAP:
            if needle in part and canonical not in found:
                found.append(canonical)
                break
    return found


def _cc_name(day: dt.date) -> str | None:
    _, name = chinese_calendar.get_holiday_detail(day)
    return None if name is None else str(name)


def _substitutions(hol: Any) -> dict[dt.date, dt.date]:
    """Make-up working day -> the weekday it was swapped for, from `holidays` labels."""
    result: dict[dt.date, dt.date] = {}
    for day, label in hol.items():
        for part in str(label).split("; "):
            if part.startswith(_SUBSTITUTED_PREFIX):
                source = dt.datetime.strptime(  # noqa: DTZ007 - a date label, not an instant
                    part[len(_SUBSTITUTED_PREFIX) : -1], "%m/%d/%Y"
                ).date()
                result[source] = day
    return result


def build() -> tuple[dict[str, Any], list[str]]:
    """Return the JSON document and the list of printed findings."""
    hol = holidays.country_holidays("CN", years=range(FIRST_YEAR, LAST_YEAR + 1), language="en_US")
    for label in hol.values():
        # `holidays` guesses years it does not know; a guessed label must never become "official".
        if "estimated" in str(label).lower():
            raise SystemExit(f"holidays returned an estimated label {label!r}; refusing")
    substitutions = _substitutions(hol)
    hv, cv = version("holidays"), version("chinesecalendar")

    findings: list[str] = []
    notes: list[str] = [
        "Only exceptions to the weekend rule are listed (weekday rest days: kind 'holiday'; "
        "weekend working days: kind 'makeup_workday'), plus weekend days inside a holiday "
        "period, listed as 'holiday' with \"weekend\": true so a UI can label them; those do "
        "not change the working/rest status. Any date not listed follows the weekend rule.",
        "Working/rest status was cross-checked day by day for every date "
        f"{FIRST_YEAR}-01-01..{LAST_YEAR}-12-31 between holidays {hv} "
        "(holidays.country_holidays('CN').is_working_day) and chinesecalendar "
        f"{cv} (chinese_calendar.is_workday).",
        "Names are chinesecalendar's period names (a make-up day is named after the holiday it "
        "pays for); where chinesecalendar has none, the name is taken from holidays.",
        "A date is filed under its own calendar year even when it comes from the next year's "
        "notice (e.g. late-December make-up days for New Year's Day).",
    ]

    entries: dict[int, list[dict[str, Any]]] = {y: [] for y in range(FIRST_YEAR, LAST_YEAR + 1)}
    for day in _days(dt.date(FIRST_YEAR, 1, 1), dt.date(LAST_YEAR, 12, 31)):
        h_working = bool(hol.is_working_day(day))
        c_working = bool(chinese_calendar.is_workday(day))
        working = h_working
        if h_working != c_working:
            findings.append(
                f"DISAGREEMENT {day} ({day:%a}): holidays={'working' if h_working else 'rest'} "
                f"({hol.get(day)!r}), chinesecalendar={'working' if c_working else 'rest'} "
                f"({chinese_calendar.get_holiday_detail(day)!r})"
            )
            resolution = RESOLUTIONS.get(day)
            if resolution is None:
                raise SystemExit(
                    "\n".join(findings) + f"\nunresolved disagreement on {day}: add a "
                    "RESOLUTIONS entry decided from the published notice"
                )
            working = resolution.working
            notes.append(
                f"Disagreement resolved in favour of {resolution.right}: {resolution.reason}"
            )
        elif day in RESOLUTIONS:
            raise SystemExit(f"stale RESOLUTIONS entry: the libraries now agree on {day}")

        weekend = _is_weekend(day)
        cc_name = _cc_name(day)
        h_names = _canonical_names(hol.get(day))
        entry: dict[str, Any] | None = None
        if weekend and working:
            # Prefer chinesecalendar's name; else the holiday `holidays` swapped this day for.
            name = cc_name
            swapped_for = substitutions.get(day)
            if swapped_for is not None:
                swapped_name = _cc_name(swapped_for)
                if name is None:
                    name = swapped_name
                elif swapped_name is not None and swapped_name != name:
                    findings.append(
                        f"NAME {day}: chinesecalendar {name!r}, holidays swaps it for "
                        f"{swapped_for} ({swapped_name!r})"
                    )
            if name is None:
                raise SystemExit(f"no name for make-up working day {day}")
            entry = {
                "date": day.isoformat(),
                "working": True,
                "kind": "makeup_workday",
                "name": f"Make-up working day ({name})",
            }
        elif not weekend and not working:
            name = cc_name or (h_names[0] if h_names else None)
            if name is None:
                raise SystemExit(f"no name for weekday rest day {day}")
            if (
                h_names
                and name not in h_names
                and not hol.get(day, "").startswith(_SUBSTITUTED_PREFIX)
            ):
                findings.append(f"NAME {day}: chinesecalendar {cc_name!r}, holidays {h_names}")
            entry = {
                "date": day.isoformat(),
                "working": False,
                "kind": "holiday",
                "name": name,
            }
        elif weekend:
            name = cc_name or (h_names[0] if h_names else None)
            if name is None and day in EXTRA_WEEKEND_LABELS:
                name, note = EXTRA_WEEKEND_LABELS[day]
                notes.append(note)
            elif cc_name is None and name is not None:
                findings.append(f"LABEL {day}: weekend holiday {name!r} named by holidays only")
                notes.append(
                    f"{day} ({day:%a}) is labelled {name!r} from holidays; chinesecalendar "
                    "does not list it in the holiday period (label only, status unchanged)."
                )
            if name is not None:
                entry = {
                    "date": day.isoformat(),
                    "working": False,
                    "kind": "holiday",
                    "name": name,
                    "weekend": True,
                }
        if entry is not None:
            entries[day.year].append(entry)

    name_diffs = sorted(
        {f.split(":")[0].removeprefix("NAME ") for f in findings if f.startswith("NAME")}
    )
    if name_diffs:
        notes.append(
            "Names only (status agrees): on " + ", ".join(name_diffs) + " chinesecalendar "
            "names the day after the whole period (e.g. 'National Day') while holidays names the "
            "festival it compensates (e.g. 'Mid-Autumn Festival (observed)'); "
            "chinesecalendar's name is kept."
        )
    _check_known_facts(entries)
    document: dict[str, Any] = {
        "calendar": "CN",
        "time_zone": "Asia/Shanghai",
        "source": f"holidays {hv} (holidays.CN, en_US names) and chinesecalendar {cv}, "
        "cross-checked day by day",
        "generated_by": "scripts/generate_cn_calendar.py",
        "years": {
            str(year): {
                "source": f"State Council notice on {year} holiday arrangements "
                f"(via holidays {hv} / chinesecalendar {cv})",
                "days": days,
            }
            for year, days in entries.items()
        },
        "notes": notes,
    }
    return document, findings


def _check_known_facts(entries: dict[int, list[dict[str, Any]]]) -> None:
    status = {e["date"]: e["working"] for days in entries.values() for e in days}

    def working(day: dt.date) -> bool:
        return bool(status.get(day.isoformat(), not _is_weekend(day)))

    wrong = [d for d in KNOWN_WORKING if not working(d)] + [d for d in KNOWN_REST if working(d)]
    if wrong:
        raise SystemExit(f"known facts violated on {wrong}")


def render(document: dict[str, Any]) -> str:
    """Serialise with one day per line, so a yearly update is a readable diff."""
    lines = ["{"]
    for key in ("calendar", "time_zone", "source", "generated_by"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(document[key], ensure_ascii=False)},")
    lines.append('  "years": {')
    years = list(document["years"].items())
    for i, (year, data) in enumerate(years):
        lines.append(f"    {json.dumps(year)}: {{")
        lines.append(f'      "source": {json.dumps(data["source"], ensure_ascii=False)},')
        lines.append('      "days": [')
        days = data["days"]
        for j, day in enumerate(days):
            comma = "," if j < len(days) - 1 else ""
            lines.append(f"        {json.dumps(day, ensure_ascii=False)}{comma}")
        lines.append("      ]")
        lines.append("    }" + ("," if i < len(years) - 1 else ""))
    lines.append("  },")
    lines.append('  "notes": [')
    notes = document["notes"]
    for j, note in enumerate(notes):
        comma = "," if j < len(notes) - 1 else ""
        lines.append(f"    {json.dumps(note, ensure_ascii=False)}{comma}")
    lines.append("  ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    if json.loads(text) != document:
        raise AssertionError("renderer lost information")
    return text


def main(argv: list[str] | None = None) -> int:
    """Entry point: print findings, then write (or with --check, compare) the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    document, findings = build()
    for line in findings:
        print(line)
    print(f"{len([f for f in findings if f.startswith('DISAGREEMENT')])} status disagreement(s)")
    text = render(document)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    total = sum(len(y["days"]) for y in document["years"].values())
    print(f"wrote {args.output} ({total} days)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
