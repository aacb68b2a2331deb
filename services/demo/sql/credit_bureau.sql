-- Credit reports (credit information and tax data) bought from a credit bureau for a case.

create table credit_reports (
    id bigint primary key,
    national_id text not null,
    name text not null,
    case_number text,
    requested_at timestamptz not null,
    score integer not null,
    payment_remarks integer not null,
    declared_income numeric(12, 2) not null,
    total_debt numeric(12, 2) not null,
    decision text not null check (decision in ('instalment_offered', 'manual_follow_up', 'legal_action_recommended')),
    restricted boolean not null default false
);
