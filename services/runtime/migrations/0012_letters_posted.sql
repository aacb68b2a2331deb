-- The print-and-post queue in the console: who marked a letter as posted, and the letter's PDF (with
-- the subject's address) dropped once it is posted: the queue keeps personal data only until then.
alter table letters add column posted_by text;
alter table letters alter column pdf drop not null;
alter table letters add constraint letters_posted_by_implies_posted
    check (posted_by is null or posted_at is not null);
alter table letters add constraint letters_pdf_kept_until_posted
    check (pdf is not null or posted_at is not null);
