"""A synthetic person: the identifiers and contact details the generator writes into the systems."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Person:
    national_id: str
    name: str
    address: str
    phone: str
    email: str
