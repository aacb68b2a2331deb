-- Marketing: newsletters, events and webinars, downloads and surveys.

create table newsletter_subscriptions (
    id bigint primary key,
    email text not null,
    name text,
    newsletter text not null,
    subscribed_at timestamptz not null,
    consent_text text not null,
    unsubscribed_at timestamptz,
    restricted boolean not null default false
);

create table event_signups (
    id bigint primary key,
    event text not null,
    email text not null,
    name text not null,
    phone text,
    organisation text,
    signed_up_at timestamptz not null,
    attended boolean not null,
    restricted boolean not null default false
);

create table downloads (
    id bigint primary key,
    email text not null,
    asset text not null,
    downloaded_at timestamptz not null,
    restricted boolean not null default false
);

create table survey_responses (
    id bigint primary key,
    email text not null,
    survey text not null,
    answers text not null,
    responded_at timestamptz not null,
    restricted boolean not null default false
);
