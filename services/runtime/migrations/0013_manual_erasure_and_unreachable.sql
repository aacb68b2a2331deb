-- Manual tasks of two kinds: the locator's search of a system without an interface (`search`, as
-- before: answered found yes/no) and the erasure's change there by hand (`erasure`: tied to its
-- plan, carrying what to erase or keep, confirmed done by an agent). One per request, system and
-- kind. An erasure plan waits for its agents in `awaiting_manual` (the request stays `fulfilling`).
--
-- Erasure plans also remember a source system that could not be reached while they ran: retried
-- with doubling waits (`next_attempt_at`), and after DSR_ERASURE_UNREACHABLE_REVIEW_SECONDS since
-- `unreachable_since` sent to review with the system named. Names and counts only, never data.

alter table manual_tasks
    add column kind text not null default 'search' check (kind in ('search', 'erasure')),
    add column plan_id uuid references erasure_plans (id),
    add column instructions jsonb,           -- erasure: per table its rule, per record its decision (keys only)
    add column overdue_at timestamptz;       -- erasure: when its due date passed and the request went to review
alter table manual_tasks drop constraint manual_tasks_request_id_system_key;
alter table manual_tasks add constraint manual_tasks_one_per_kind unique (request_id, system, kind);
alter table manual_tasks drop constraint manual_tasks_status_check;
alter table manual_tasks add constraint manual_tasks_status_check
    check (status in ('open', 'answered', 'done', 'cancelled'));
alter table manual_tasks add constraint manual_tasks_erasure_has_plan
    check ((kind = 'erasure') = (plan_id is not null));
create index manual_tasks_plan on manual_tasks (plan_id) where plan_id is not null;

alter table erasure_plans drop constraint erasure_plans_status_check;
alter table erasure_plans add constraint erasure_plans_status_check
    check (status in ('needs_review', 'approved', 'awaiting_manual', 'executed', 'rejected'));
alter table erasure_plans
    add column attempts int not null default 0,           -- rounds in a row that found `unreachable_system` away
    add column next_attempt_at timestamptz,               -- not run again before this
    add column unreachable_since timestamptz,
    add column unreachable_system text;
create index erasure_plans_waiting on erasure_plans (unreachable_system) where unreachable_system is not null;
