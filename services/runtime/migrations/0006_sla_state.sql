-- SLA tracking: where each request stands against its due date, moved forward once per step.
alter table requests add column sla_state text not null default 'on_track';
create index requests_stuck on requests (updated_at)
    where status not in ('completed', 'referred', 'refused', 'cancelled');
