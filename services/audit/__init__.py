"""The audit trail for the data protection officer: tamper evidence and verification."""
