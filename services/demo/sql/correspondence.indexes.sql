create index form_submissions_email on form_submissions (email);
create index form_submissions_phone on form_submissions (phone);
create index form_submissions_case_number on form_submissions (case_number);
create index emails_address on emails (address);
create index emails_case_number on emails (case_number);
