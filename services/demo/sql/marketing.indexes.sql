create index newsletter_subscriptions_email on newsletter_subscriptions (email);
create index event_signups_email on event_signups (email);
create index event_signups_phone on event_signups (phone);
create index downloads_email on downloads (email);
create index survey_responses_email on survey_responses (email);
