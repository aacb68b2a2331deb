"""Shared runtime every service is built on: settings, ledger access, outbox, inbox, Kafka, logs, health."""
