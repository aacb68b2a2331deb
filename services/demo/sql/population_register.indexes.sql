create index address_updates_national_id on address_updates (national_id);
create index address_updates_case_number on address_updates (case_number);
