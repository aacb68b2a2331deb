-- A tamper-evident audit trail: each request's events form a hash chain (every event carries the
-- hash of the one before it and its position), and each day's events are anchored in a digest.
-- The chain is computed by the database, so every writer (Python or a bulk CTE) gets it.

alter table audit_events
    add column seq       int,
    add column prev_hash bytea,
    add column hash      bytea;

create function audit_event_digest(
    prev bytea, request_id uuid, seq int, at timestamptz, actor text, action text, detail jsonb
) returns bytea language sql immutable as $$
    select sha256(
        coalesce(prev, '\x'::bytea)
        || convert_to(
            concat_ws(E'\x1f', coalesce(request_id::text, '-'), seq::text,
                      to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                      actor, action, detail::text),
            'UTF8'))
$$;

create function audit_chain() returns trigger language plpgsql as $$
declare
    last record;
begin
    -- One writer per chain at a time, until its transaction ends: the next writer then sees
    -- this event as the chain's head.
    perform pg_advisory_xact_lock(hashtextextended('dsr-audit:' || coalesce(new.request_id::text, '-'), 0));
    if new.request_id is null then
        select a.seq, a.hash into last from audit_events a
            where a.request_id is null order by a.seq desc limit 1;
    else
        select a.seq, a.hash into last from audit_events a
            where a.request_id = new.request_id order by a.seq desc limit 1;
    end if;
    new.seq := coalesce(last.seq, 0) + 1;
    new.prev_hash := last.hash;
    new.hash := audit_event_digest(new.prev_hash, new.request_id, new.seq, new.at, new.actor, new.action,
                                   new.detail);
    return new;
end $$;

create trigger audit_chain before insert on audit_events for each row execute function audit_chain();

-- Events written before this migration join their chains now, in id order.
with ordered as (
    select id, row_number() over (partition by request_id order by id) as n from audit_events
)
update audit_events a set seq = o.n from ordered o where o.id = a.id;

do $$
declare
    e record;
    prev bytea;
    chain uuid;
    first boolean := true;
begin
    for e in select * from audit_events order by request_id nulls first, seq loop
        if first or e.request_id is distinct from chain then
            prev := null;
            chain := e.request_id;
            first := false;
        end if;
        update audit_events set prev_hash = prev,
            hash = audit_event_digest(prev, e.request_id, e.seq, e.at, e.actor, e.action, e.detail)
            where id = e.id returning hash into prev;
    end loop;
end $$;

create unique index audit_events_chain on audit_events (request_id, seq);

create table audit_anchors (
    day         date primary key,
    digest      bytea not null,
    events      bigint not null,
    anchored_at timestamptz not null default now()
);
