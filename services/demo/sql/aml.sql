-- Anti-money-laundering checks (customer due diligence) of client contacts and guarantors.

create table aml_checks (
    id bigint primary key,
    national_id text not null,
    name text not null,
    role text not null check (role in ('client_contact', 'guarantor', 'beneficial_owner')),
    org_number text,
    case_number text,
    checked_on date not null,
    id_document text not null,
    politically_exposed boolean not null,
    sanctions_hit boolean not null,
    result text not null check (result in ('cleared', 'enhanced_due_diligence')),
    restricted boolean not null default false
);
