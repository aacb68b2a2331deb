"""Intake: every channel's requests validated, stored, given a reference and a due date."""
