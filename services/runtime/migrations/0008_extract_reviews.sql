-- A person's decision on releasing special-category data (Art. 9) in an access extract: one per
-- request, with who decided and why (the audit trail records the decision too).

create table extract_reviews (
    request_id  uuid primary key references requests (id),
    decision    text not null check (decision in ('release', 'withhold')),
    reason      text not null,
    decided_by  text not null,
    decided_at  timestamptz not null default now()
);
