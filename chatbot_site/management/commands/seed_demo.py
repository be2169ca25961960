"""Seed the demo companies. Idempotent: a second run changes nothing and does not fail.

Every row is written through the services (accounts, conversations, consent,
retention), so demo data passes the same checks and leaves the same audit
entries as data an admin creates. What exists already is kept as it is (a
role, a team's members or rights changed in the console stay changed); only
what is missing is created.

It imports every app, so by the layering rule (tests/test_layers.py) it lives
with the site (chatbot_site, an installed app), above all of them; the command
is still `manage.py seed_demo`.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Company, Membership, Team
from accounts.selectors import company_get_by_slug, team_list
from accounts.services import (
    company_create,
    membership_set,
    team_create_by,
    team_member_add_by,
    user_create,
)
from consent.selectors import notice_list
from consent.services import notice_create_draft, notice_publish
from conversations.models import Inbox
from conversations.rights import REPLY, VIEW, team_grants
from conversations.selectors.inboxes import inbox_list
from conversations.services.inboxes import faq_entry_create, inbox_create
from conversations.services.rights import rights_set
from retention.services.policy import policy_get_or_create

DEMO_PASSWORD = "hafen-demo"

USERS = [
    ("demo-admin", "demo", Membership.Role.ADMIN),
    ("demo-operator", "demo", Membership.Role.OPERATOR),
    ("demo-viewer", "demo", Membership.Role.VIEWER),
    ("other-admin", "other", Membership.Role.ADMIN),
]

# The demo inbox's FAQ, one entry per topic and language (issue 14): several
# question variants each, so the intent model (conversations.bot) learns the
# topic rather than one sentence. bench/data/bot_de.json holds German
# paraphrases of these entries that are NOT among the variants (bench/bot.py).
FAQ: list[dict] = [
    {
        "key": "hours",
        "language": "de",
        "questions": [
            "Was sind Ihre Öffnungszeiten?",
            "Wann haben Sie geöffnet?",
            "Öffnungszeiten",
            "Wann sind Sie erreichbar?",
            "Haben Sie am Wochenende offen?",
            "Bis wann kann ich Sie heute erreichen?",
        ],
        "answer": "Wir sind Montag bis Freitag von 9 bis 18 Uhr für Sie da.",
    },
    {
        "key": "hours",
        "language": "en",
        "questions": [
            "What are your opening hours?",
            "When are you open?",
            "Opening hours",
            "When can I reach you?",
            "Are you open on weekends?",
            "What time do you close today?",
        ],
        "answer": "We are here for you Monday to Friday, 9 am to 6 pm.",
    },
    {
        "key": "tracking",
        "language": "de",
        "questions": [
            "Wie kann ich meine Bestellung verfolgen?",
            "Wo ist mein Paket?",
            "Sendungsverfolgung",
            "Wann wird meine Bestellung geliefert?",
            "Mein Paket ist noch nicht da",
            "Ist meine Bestellung schon unterwegs?",
            "Lieferstatus meiner Bestellung",
        ],
        "answer": "Den Link zur Sendungsverfolgung finden Sie in Ihrer Versandbestätigung.",
    },
    {
        "key": "tracking",
        "language": "en",
        "questions": [
            "How can I track my order?",
            "Where is my parcel?",
            "Track my order",
            "When will my order arrive?",
            "My package has not arrived yet",
            "Has my order been shipped?",
            "Delivery status of my order",
        ],
        "answer": "You will find the tracking link in your shipping confirmation email.",
    },
    {
        "key": "returns",
        "language": "de",
        "questions": [
            "Wie kann ich etwas zurückschicken?",
            "Rücksendung",
            "Retoure",
            "Wie gebe ich einen Artikel zurück?",
            "Ich möchte etwas zurückgeben",
            "Kann ich Ware umtauschen?",
            "Wie lange habe ich ein Rückgaberecht?",
        ],
        "answer": "Sie können Artikel innerhalb von 30 Tagen kostenlos zurücksenden.",
    },
    {
        "key": "returns",
        "language": "en",
        "questions": [
            "How do I return an item?",
            "Returns",
            "Return policy",
            "I want to return something",
            "I'd like to send something back",
            "Can I send an item back?",
            "Can I exchange a product?",
            "How long do I have to return an order?",
        ],
        "answer": "You can return items free of charge within 30 days.",
    },
    {
        "key": "payment",
        "language": "de",
        "questions": [
            "Welche Zahlungsarten gibt es?",
            "Kann ich per Rechnung zahlen?",
            "Zahlungsmethoden",
            "Akzeptieren Sie PayPal?",
            "Kann ich mit Kreditkarte bezahlen?",
            "Wie kann ich meine Bestellung bezahlen?",
            "Bezahlung per Lastschrift",
        ],
        "answer": "Wir akzeptieren Rechnung, SEPA-Lastschrift, Kreditkarte und PayPal.",
    },
    {
        "key": "payment",
        "language": "en",
        "questions": [
            "Which payment methods do you accept?",
            "Can I pay by invoice?",
            "Payment options",
            "Do you accept PayPal?",
            "Can I pay with a credit card?",
            "How can I pay for my order?",
            "Payment by direct debit",
        ],
        "answer": "We accept invoice, SEPA direct debit, credit card and PayPal.",
    },
    {
        "key": "privacy",
        "language": "de",
        "questions": [
            "Wie speichern Sie meine Daten?",
            "Datenschutz",
            "Was machen Sie mit meinen Daten?",
            "Werden meine Nachrichten gespeichert?",
            "Wann werden meine Daten gelöscht?",
            "Ist dieser Chat sicher?",
        ],
        "answer": (
            "Ihre Nachrichten werden verschlüsselt gespeichert und nach der eingestellten"
            " Frist gelöscht."
        ),
    },
    {
        "key": "privacy",
        "language": "en",
        "questions": [
            "How do you store my data?",
            "Data protection",
            "Privacy",
            "What do you do with my data?",
            "Are my messages stored?",
            "When is my data deleted?",
            "Is this chat secure?",
        ],
        "answer": "Your messages are stored encrypted and deleted after the retention period.",
    },
    {
        "key": "callback",
        "language": "de",
        "questions": [
            "Rückruf",
            "Können Sie mich zurückrufen?",
            "Bitte rufen Sie mich zurück",
            "Ich hätte gern einen Anruf",
            "Ruft ihr mich an?",
        ],
        "answer": (
            "Gern! Wenn Sie möchten, hinterlassen Sie uns Ihre Kontaktdaten"
            " (nur mit Ihrer Einwilligung)."
        ),
        "asks_for_contact": True,
    },
    {
        "key": "callback",
        "language": "en",
        "questions": [
            "Callback",
            "Please call me back",
            "Can you call me?",
            "I would like a phone call",
            "Could someone ring me back?",
        ],
        "answer": ("Gladly! If you like, leave us your contact details (only with your consent)."),
        "asks_for_contact": True,
    },
]


COMPANIES = {
    "demo": {
        "name": "Demo GmbH",
        "country": "DE",
        "language": "de",
        "data_location": "EU (Frankfurt am Main, Germany)",
        "privacy_contact": "Datenschutzbeauftragte, Demo GmbH, datenschutz@demo.example",
    },
    "other": {
        "name": "Other Ltd",
        "country": "IE",
        "language": "en",
        "timezone": "Europe/Dublin",
        "data_location": "EU (Dublin, Ireland)",
        "privacy_contact": "privacy@other.example",
    },
}

# (team, member, rights on the demo inbox), granted when the team is created
TEAMS = [
    ("Support", "demo-operator", (VIEW, REPLY)),
    ("Quality", "demo-viewer", (VIEW,)),
]


class Command(BaseCommand):
    help = (
        "Create the demo companies (Demo GmbH, Other Ltd), their users, teams, inbox and "
        f"FAQ. Idempotent. All demo users have the password '{DEMO_PASSWORD}'."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        companies = {
            slug: company_get_by_slug(slug=slug) or company_create(slug=slug, **fields)
            for slug, fields in COMPANIES.items()
        }
        demo, other = companies["demo"], companies["other"]
        users = {
            username: _user_with_membership(username, company=companies[slug], role=role)
            for username, slug, role in USERS
        }
        inbox = _demo_inbox(demo)
        if not inbox_list(company=other).exists():
            inbox_create(
                company=other, name="Support", language="en", greeting="Hi! How can we help?"
            )
        _demo_teams(demo, inbox=inbox, users=users)

        # retention: a default policy per demo company (kept if it exists)
        for company in companies.values():
            policy_get_or_create(company=company)

        # Consent: a published German privacy notice v1 (the inbox keeps
        # notice_required off; the admin switches it on under Privacy notices).
        if not notice_list(company_id=demo.pk):
            notice = notice_create_draft(
                company=demo,
                title="Datenschutzhinweis für den Chat",
                text=DEMO_NOTICE,
                actor=users["demo-admin"],
            )
            notice_publish(notice=notice, actor=users["demo-admin"])

        self.stdout.write(self.style.SUCCESS("Demo data ready."))


def _user_with_membership(username: str, *, company: Company, role: str) -> AbstractBaseUser:
    """The demo user, created with the demo password if missing; a membership if it has none."""
    user = get_user_model()._default_manager.filter(username=username).first()
    if user is None:
        user = user_create(username=username, password=DEMO_PASSWORD)
    if not user.memberships.filter(company=company).exists():
        membership_set(user=user, company=company, role=role)
    return user


def _demo_inbox(demo: Company) -> Inbox:
    """Demo GmbH's website inbox with its FAQ (both only if the company has no inbox yet)."""
    inbox = inbox_list(company=demo).first()
    if inbox is not None:
        return inbox
    inbox = inbox_create(
        company=demo,
        public_key="demo-website",
        name="Website",
        language="de",
        greeting="Hallo! Ich bin der Hafen-Bot von Demo GmbH. Wie kann ich helfen?",
        allowed_origins="http://127.0.0.1:8000\nhttp://localhost:8000",
        resume_enabled=True,
    )
    for position, entry in enumerate(FAQ):
        faq_entry_create(
            inbox=inbox,
            questions="\n".join(entry["questions"]),
            answer=entry["answer"],
            language=entry["language"],
            position=position,
            asks_for_contact=entry.get("asks_for_contact", False),
        )
    return inbox


def _demo_teams(demo: Company, *, inbox: Inbox, users: dict[str, AbstractBaseUser]) -> None:
    """The missing demo teams, each with its member and its rights on the demo inbox.

    Rights go through rights_set (which sets the whole matrix), so the rights
    every other team holds now are passed along unchanged.
    """
    existing = {team.name for team in team_list(company=demo)}
    new_grants: set[tuple[int, int, str]] = set()
    for name, username, rights in TEAMS:
        if name in existing:
            continue
        team: Team = team_create_by(company=demo, name=name, actor=None)
        team_member_add_by(team=team, user=users[username], actor=None)
        new_grants |= {(team.pk, inbox.pk, right) for right in rights}
    if new_grants:
        rights_set(company=demo, grants=set(team_grants(company=demo)) | new_grants, actor=None)


DEMO_NOTICE = """Verantwortlich für diesen Chat ist die Demo GmbH. Fragen zum Datenschutz beantwortet unsere Datenschutzbeauftragte unter datenschutz@demo.example.

Sie chatten anonym: Wir speichern keine IP-Adresse und keine Browserdaten. Ihre Nachrichten werden verschlüsselt gespeichert, damit unser Bot und unser Support-Team Ihre Frage beantworten können (Art. 6 Abs. 1 lit. b und f DSGVO).

Name, E-Mail-Adresse oder Telefonnummer speichern wir nur, wenn Sie im Kontaktformular ausdrücklich zustimmen (Art. 6 Abs. 1 lit. a DSGVO). Diese Einwilligung können Sie im Chat jederzeit widerrufen; die Angaben werden dann sofort gelöscht. Ohne Einwilligung entfernen wir aus Ihren Nachrichten automatisch, bevor sie gespeichert werden: E-Mail-Adressen, Telefonnummern, IBANs, Kartennummern, Postanschriften (Straße mit Hausnummer, Postleitzahl und Ort), Namen nach Angaben wie „mein Name ist“, „ich heiße“ oder unter einem Gruß, Geburtsdaten nach Angaben wie „geboren am“ sowie Steuer-Identifikationsnummer, Sozialversicherungs- und andere nationale Ausweisnummern. Nicht zuverlässig entfernt werden Namen ohne solchen Hinweis, Angaben zur Gesundheit und andere persönliche Angaben in freiem Text: Bitte schreiben Sie solche Angaben nicht in den Chat.

Gespräche werden nach der eingestellten Frist automatisch gelöscht. Wer welche Gespräche sehen darf und wie lange wir Daten aufbewahren, steht auf unserer Transparenzseite.

Sie haben das Recht auf Auskunft, Berichtigung, Löschung, Einschränkung der Verarbeitung, Datenübertragbarkeit und Widerspruch sowie das Recht, sich bei einer Aufsichtsbehörde zu beschweren."""
