"""Built-in word lists for synthetic people, places and companies (no network, no data files)."""

from __future__ import annotations

# fmt: off
FIRST_NAMES = (
    "Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Thomas", "Hans", "Geir",
    "Tor", "Morten", "Terje", "Odd", "Erik", "Rune", "Martin", "Andreas", "Jonas", "Magnus", "Sindre",
    "Håkon", "Øyvind", "Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid",
    "Bjørg", "Hilde", "Anna", "Solveig", "Marianne", "Randi", "Ida", "Nora", "Emma", "Sara", "Thea",
    "Ingeborg", "Silje", "Camilla", "Ragnhild", "Åse",
)

LAST_NAMES = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen",
    "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen", "Johannessen",
    "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen", "Lund", "Sørensen",
    "Jakobsen", "Moen", "Gundersen", "Iversen", "Strand", "Solberg", "Svendsen", "Eide", "Knutsen",
    "Martinsen", "Paulsen", "Bakken", "Kristoffersen", "Mathisen", "Lie", "Amundsen", "Nguyen",
    "Rasmussen", "Ali", "Lunde", "Solheim", "Berge", "Moe", "Nygård", "Bakke",
)

STREETS = (
    "Storgata", "Kirkegata", "Skolegata", "Parkveien", "Fjordveien", "Bjørkeveien", "Granveien",
    "Furuveien", "Industriveien", "Strandveien", "Nedre gate", "Øvre Slottsgate", "Sjøgata",
    "Kongens gate", "Dronningens gate", "Jernbanegata", "Torggata", "Solveien", "Åsveien", "Lia",
    "Bakkeveien", "Elvegata", "Havnegata", "Markveien", "Tunveien", "Lindeveien", "Eikeveien",
    "Rådhusgata", "Prestegårdsveien", "Nordre gate",
)

POSTAL_PLACES = (
    ('0150', 'Oslo'), ('0355', 'Oslo'), ('0566', 'Oslo'), ('0672', 'Oslo'), ('0979', 'Oslo'),
    ('1337', 'Sandvika'), ('1405', 'Langhus'), ('1530', 'Moss'), ('1606', 'Fredrikstad'),
    ('2000', 'Lillestrøm'), ('2317', 'Hamar'), ('2609', 'Lillehammer'), ('3015', 'Drammen'),
    ('3117', 'Tønsberg'), ('3717', 'Skien'), ('4006', 'Stavanger'), ('4307', 'Sandnes'),
    ('4612', 'Kristiansand'), ('5003', 'Bergen'), ('5527', 'Haugesund'), ('6002', 'Ålesund'),
    ('6413', 'Molde'), ('7010', 'Trondheim'), ('7600', 'Levanger'), ('8006', 'Bodø'),
    ('8514', 'Narvik'), ('9008', 'Tromsø'), ('9600', 'Hammerfest'), ('9900', 'Kirkenes'),
    ('2815', 'Gjøvik'),
)

EMAIL_DOMAINS = (
    "gmail.com", "hotmail.com", "online.no", "outlook.com", "yahoo.no", "icloud.com", "live.no",
)

BANK_CODES = (
    1503, 1254, 3000, 3201, 9710, 1822, 6345, 2801, 4202, 9235,
)

CLIENTS = (
    "Nordlys Strøm AS", "Vestkyst Telekom AS", "Fjellbygg Eiendom AS", "Bølgen Bredbånd AS",
    "Trønder Treningssenter AS", "Havørn Forsikring ASA", "Sørlandet Tannhelse AS", "Polar Mobil AS",
    "Midtnorsk Boligutleie AS", "Skogstjerna Barnehager AS", "Kystlys Nettbutikk AS",
    "Elvedalen Bilverksted AS", "Solsiden Optikk AS", "Nordkapp Energi AS", "Fjordhest Veterinær AS",
    "Vinterlys Strømming AS",
)

PROSPECTS = (
    "Granitt Logistikk AS", "Måkeskjær Marina AS", "Lyngheia Helsehus AS", "Brattli Byggevarer AS",
)

SUPPLIERS = (
    "Postkassen Distribusjon AS", "Skyhavn IT Drift AS", "Advokatfirmaet Rettvis AS",
    "Trykkeriet Sats AS",
)

AUTHORITIES = (
    "Datatilsynet", "Finanstilsynet", "Skatteetaten", "Namsfogden i Oslo",
)

NEWSLETTERS = (
    "Kundeavisen", "Inkassonytt for bedrifter", "Fakturatips",
)

EVENTS = (
    "Webinar: Ny inkassolov 2026", "Frokostmøte: Effektiv fakturering",
    "Webinar: Betalingsvaner i Norden", "Kundedag Bergen", "Kundedag Trondheim",
)

ASSETS = (
    "Guide: Purring og inkasso", "Rapport: Betalingsvaner 2026", "Sjekkliste: Fakturamal",
    "E-bok: Kredittstyring",
)

SURVEYS = (
    "Kundetilfredshet 2026", "Plan & Pay brukerundersøkelse",
)

SURVEY_ANSWERS = (
    "Fornøyd: 5; Anbefale: ja", "Fornøyd: 4; Anbefale: ja", "Fornøyd: 2; Anbefale: nei",
    "Fornøyd: 3; Kommentar: vanskelig å finne saksnummer",
    "Fornøyd: 5; Kommentar: rask hjelp på telefon",
)

CONTACT_TITLES = (
    "Økonomisjef", "Regnskapsfører", "Daglig leder", "Innkjøpsansvarlig", "Saksbehandler", "Controller",
)

AGENTS = (
    "agent-ola", "agent-kari", "agent-nils", "agent-fatima", "agent-jon", "agent-lene",
)

CLAIM_DESCRIPTIONS = (
    "Strømregning", "Mobilabonnement", "Husleie", "Treningsavgift", "Tannbehandling", "Nettbestilling",
    "Forsikringspremie", "Bredbånd",
)

LETTER_KINDS = (
    "notice", "payment_demand", "reminder", "instalment_confirmation",
)

CASE_NOTES = (
    "Skyldner ringte og ba om betalingsutsettelse.", "Avtalt nedbetalingsplan over telefon.",
    "Skyldner bestrider kravet; sendt dokumentasjon.", "Ny adresse mottatt fra folkeregisteret.",
    "Skyldner ba om kopi av fakturaen.",
)

HEALTH_NOTES = (
    "Skyldner opplyser om langvarig sykemelding og ber om betalingspause.",
    "Skyldner er innlagt på sykehus; ber om at saken stilles i bero.",
)

FORM_MESSAGES = (
    "Jeg lurer på hvorfor jeg har fått dette kravet.", "Kan jeg få en nedbetalingsplan?",
    "Jeg har allerede betalt fakturaen.", "Vennligst send meg kopi av dokumentasjonen.",
    "Jeg ønsker å vite hvilke opplysninger dere har om meg.",
)

EMAIL_SUBJECTS = (
    "Spørsmål om krav", "Betalingsavtale", "Kopi av faktura", "Endret adresse", "Klage på gebyr",
)

CALL_SUMMARIES = (
    "Spørsmål om saldo.", "Avtalt betaling innen fredag.", "Ba om kopi av brev.",
    "Bekreftet ny adresse.", None,
)

# fmt: on
