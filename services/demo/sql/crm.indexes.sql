create index contacts_organisation_id on contacts (organisation_id);
create index contacts_email on contacts (email);
create index contacts_phone on contacts (phone);
create index contact_activities_contact_id on contact_activities (contact_id);
alter table contacts add foreign key (organisation_id) references organisations (id);
alter table contact_activities add foreign key (contact_id) references contacts (id);
