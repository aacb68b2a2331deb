"""One way to render HTML for people: Jinja2, autoescaped, strict about missing variables.

Strict undefined makes a template that names a variable nobody passed fail loudly in tests,
instead of sending a letter with a blank where the due date should be.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any, Literal

import jinja2

Language = Literal["nb", "en"]

_MONTHS = {
    "nb": [
        "januar",
        "februar",
        "mars",
        "april",
        "mai",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "desember",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}


def long_date(value: dt.date | dt.datetime, language: Language = "nb") -> str:
    """'1. mars 2029' in Norwegian, '1 March 2029' in English."""
    day = value.date() if isinstance(value, dt.datetime) else value
    month = _MONTHS[language][day.month - 1]
    return f"{day.day}. {month} {day.year}" if language == "nb" else f"{day.day} {month} {day.year}"


@cache
def environment(package: str, folder: str = "templates") -> jinja2.Environment:
    """The template environment of one package (its `templates/` folder), cached per package."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, folder),
        autoescape=jinja2.select_autoescape(("html", "htm", "xml", "j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
    )
    env.filters["long_date"] = long_date
    return env


def render(package: str, name: str, **context: Any) -> str:
    return environment(package).get_template(name).render(**context)
