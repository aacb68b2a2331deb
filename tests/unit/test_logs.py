"""JSON log lines: every part of the record that can carry input is scrubbed."""

from __future__ import annotations

import json
import logging
import sys
from types import TracebackType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.runtime.logs import JsonFormatter
from services.runtime.scrubbing import EMAIL_MASK, NUMBER_MASK
from tests.unit.strategies import digits_of, national_ids, phones

ExcInfo = tuple[type[BaseException], BaseException, TracebackType]


class Opaque:
    """Not JSON-serialisable: the formatter falls back to str()."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return f"Opaque({self.text})"


def _exc_info(message: str) -> ExcInfo:
    try:
        raise ValueError(message)
    except ValueError:
        info = sys.exc_info()
    assert info[0] is not None and info[1] is not None and info[2] is not None
    return info


def _format(
    msg: str,
    args: tuple[Any, ...] = (),
    extra: dict[str, Any] | None = None,
    exc_info: ExcInfo | None = None,
) -> tuple[str, dict[str, Any]]:
    logger = logging.getLogger("tests.unit.logs")
    record = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, msg, args, exc_info, extra=extra)
    line = JsonFormatter("intake").format(record)
    return line, json.loads(line)


@given(national_ids(), phones(), st.emails())
def test_no_personal_value_in_message_extra_or_exception_reaches_the_log_line(
    national_id: str, phone: str, email: str
) -> None:
    line, parsed = _format(
        "lookup failed for %s / %s",
        (national_id, email),
        extra={
            "subject": {"national_id": national_id, "contacts": [phone, email]},
            "detail": f"called {phone}",
            "opaque": Opaque(national_id),
        },
        exc_info=_exc_info(f'duplicate key value (national_id)=({national_id}) for "{email}", tlf {phone}'),
    )
    for value in (national_id, phone, email, digits_of(phone)):
        assert value not in line
    assert parsed["msg"] == f"lookup failed for {NUMBER_MASK} / {EMAIL_MASK}"
    assert parsed["subject"] == {"national_id": NUMBER_MASK, "contacts": [NUMBER_MASK, EMAIL_MASK]}
    assert parsed["detail"] == f"called {NUMBER_MASK}"
    assert parsed["opaque"] == f"Opaque({NUMBER_MASK})"
    assert "ValueError" in parsed["exc"]


def test_a_log_line_keeps_its_envelope_and_harmless_fields() -> None:
    _, parsed = _format(
        "request %s accepted",
        ("DSR-2026-000123",),
        extra={"request_id": "9b2d5a4e-1c1f-4d8e-9a53-2f1c0e6b7a10"},
    )
    assert parsed["level"] == "error"
    assert parsed["service"] == "intake"
    assert parsed["logger"] == "tests.unit.logs"
    assert parsed["msg"] == "request DSR-2026-000123 accepted"
    assert parsed["request_id"] == "9b2d5a4e-1c1f-4d8e-9a53-2f1c0e6b7a10"
    assert parsed["ts"].endswith("+00:00")
    assert "exc" not in parsed


def test_a_record_passed_through_a_real_handler_is_one_scrubbed_json_line() -> None:
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("locator"))
    logger = logging.getLogger("tests.unit.logs.handler")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError("subject 01010050053 not found")
        except RuntimeError:
            logger.exception("search for %s failed", "ole@example.no", extra={"phone": "+47 412 34 567"})
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    for value in ("01010050053", "ole@example.no", "412 34 567", "41234567"):
        assert value not in lines[0]
    assert json.loads(lines[0])["phone"] == NUMBER_MASK


def test_a_phone_number_logged_as_an_integer_extra_does_not_reach_the_log_line() -> None:
    line, _ = _format("sms sent", extra={"phone": 41234567})
    assert "41234567" not in line


def test_a_national_id_cut_by_traceback_truncation_leaves_no_digits() -> None:
    national_id = "01010050053"
    # The traceback ends with "ValueError: <message>\n": keep only the id's last 7 digits in the last 4000.
    line, _ = _format("failed", exc_info=_exc_info(national_id + "x" * 3992))
    assert national_id[-7:] not in line
