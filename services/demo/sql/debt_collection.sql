-- Debt collection: cases collected on behalf of creditors (our clients), with their parties,
-- claims, payments, instalment plans, letters and notes.

create table cases (
    id bigint primary key,
    case_number text not null,
    creditor text not null,
    status text not null check (status in ('open', 'closed')),
    opened_on date not null,
    closed_on date,
    legal_claim boolean not null default false,
    debtor_national_id text not null,
    debtor_name text not null,
    debtor_address text not null,
    debtor_phone text,
    debtor_email text,
    restricted boolean not null default false
);

create table case_parties (
    id bigint primary key,
    case_id bigint not null,
    role text not null check (role in ('co_debtor', 'guarantor', 'representative')),
    national_id text,
    name text not null,
    address text not null,
    phone text,
    email text,
    restricted boolean not null default false
);

create table claims (
    id bigint primary key,
    case_id bigint not null,
    invoice_number text not null,
    description text not null,
    principal numeric(12, 2) not null,
    interest numeric(12, 2) not null,
    fees numeric(12, 2) not null,
    due_on date not null,
    restricted boolean not null default false
);

create table payments (
    id bigint primary key,
    case_id bigint not null,
    paid_on date not null,
    amount numeric(12, 2) not null,
    payer_account text not null,
    restricted boolean not null default false
);

create table instalment_plans (
    id bigint primary key,
    case_id bigint not null,
    agreed_on date not null,
    instalments integer not null,
    monthly_amount numeric(12, 2) not null,
    status text not null check (status in ('active', 'completed', 'broken')),
    restricted boolean not null default false
);

create table letters (
    id bigint primary key,
    case_id bigint not null,
    sent_on date not null,
    kind text not null,
    channel text not null check (channel in ('post', 'digital')),
    address text not null,
    restricted boolean not null default false
);

create table case_notes (
    id bigint primary key,
    case_id bigint not null,
    written_at timestamptz not null,
    author text not null,
    note text not null,
    health_note text,
    restricted boolean not null default false
);
