-- Intake answers a redelivered submission without an idempotency key by its correlation id.
create index requests_correlation on requests (correlation_id);
