"""Seed the demo companies. Idempotent: a second run changes nothing."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from guardian.shortcuts import assign_perm

from accounts.models import Company, Membership, Team
from accounts.services import company_create, membership_set, team_create
from conversations.models import FaqEntry, Inbox

DEMO_PASSWORD = "hafen-demo"

USERS = [
    ("demo-admin", "demo", Membership.Role.ADMIN),
    ("demo-operator", "demo", Membership.Role.OPERATOR),
    ("demo-viewer", "demo", Membership.Role.VIEWER),
    ("other-admin", "other", Membership.Role.ADMIN),
]

FAQ = [
    (
        "Was sind Ihre Öffnungszeiten?\nWann haben Sie geöffnet?\nÖffnungszeiten",
        "Wir sind Montag bis Freitag von 9 bis 18 Uhr für Sie da.",
    ),
    (
        "What are your opening hours?\nWhen are you open?\nOpening hours",
        "We are here for you Monday to Friday, 9 am to 6 pm.",
    ),
    (
        "Wie kann ich meine Bestellung verfolgen?\nWo ist mein Paket?\nSendungsverfolgung",
        "Den Link zur Sendungsverfolgung finden Sie in Ihrer Versandbestätigung.",
    ),
    (
        "How can I track my order?\nWhere is my parcel?\nTrack my order",
        "You will find the tracking link in your shipping confirmation email.",
    ),
    (
        "Wie kann ich etwas zurückschicken?\nRücksendung\nRetoure",
        "Sie können Artikel innerhalb von 30 Tagen kostenlos zurücksenden.",
    ),
    (
        "How do I return an item?\nReturns\nReturn policy",
        "You can return items free of charge within 30 days.",
    ),
    (
        "Welche Zahlungsarten gibt es?\nKann ich per Rechnung zahlen?\nZahlungsmethoden",
        "Wir akzeptieren Rechnung, SEPA-Lastschrift, Kreditkarte und PayPal.",
    ),
    (
        "Which payment methods do you accept?\nCan I pay by invoice?\nPayment options",
        "We accept invoice, SEPA direct debit, credit card and PayPal.",
    ),
    (
        "Wie speichern Sie meine Daten?\nDatenschutz",
        "Ihre Nachrichten werden verschlüsselt gespeichert und nach der eingestellten Frist gelöscht.",
    ),
    (
        "Rückruf\nKönnen Sie mich zurückrufen?\nPlease call me back\nCallback",
        "Gern! Wenn Sie möchten, hinterlassen Sie uns Ihre Kontaktdaten (nur mit Ihrer Einwilligung).",
    ),
]


class Command(BaseCommand):
    help = (
        "Create the demo companies (Demo GmbH, Other Ltd), their users, teams, inbox and "
        f"FAQ. Idempotent. All demo users have the password '{DEMO_PASSWORD}'."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        demo = Company.objects.filter(slug="demo").first() or company_create(
            slug="demo",
            name="Demo GmbH",
            country="DE",
            language="de",
            data_location="EU (Frankfurt am Main, Germany)",
            privacy_contact="Datenschutzbeauftragte, Demo GmbH, datenschutz@demo.example",
        )
        other = Company.objects.filter(slug="other").first() or company_create(
            slug="other",
            name="Other Ltd",
            country="IE",
            language="en",
            data_location="EU (Dublin, Ireland)",
            privacy_contact="privacy@other.example",
        )
        companies = {"demo": demo, "other": other}
        User = get_user_model()
        users = {}
        for username, slug, role in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(username=username, password=DEMO_PASSWORD)
            if not Membership.objects.filter(user=user, company=companies[slug]).exists():
                membership_set(user=user, company=companies[slug], role=role)
            users[username] = user

        inbox = Inbox.objects.filter(company=demo).first()
        if inbox is None:
            inbox = Inbox.objects.create(
                company=demo,
                name="Website",
                language="de",
                public_key="demo-website",
                greeting="Hallo! Ich bin der Hafen-Bot von Demo GmbH. Wie kann ich helfen?",
                allowed_origins="http://127.0.0.1:8000\nhttp://localhost:8000",
                resume_enabled=True,
            )
            for position, (questions, answer) in enumerate(FAQ):
                FaqEntry.objects.create(
                    company=demo,
                    inbox=inbox,
                    questions=questions,
                    answer=answer,
                    position=position,
                    asks_for_contact=questions.startswith("Rückruf"),
                )
        if not Inbox.objects.filter(company=other).exists():
            Inbox.objects.create(
                company=other, name="Support", language="en", greeting="Hi! How can we help?"
            )

        support = Team.objects.filter(company=demo, name="Support").first()
        if support is None:
            support = team_create(company=demo, name="Support")
            support.group.user_set.add(users["demo-operator"])
            for perm in ("view_conversations", "reply_conversations"):
                assign_perm(f"conversations.{perm}", support.group, inbox)
        quality = Team.objects.filter(company=demo, name="Quality").first()
        if quality is None:
            quality = team_create(company=demo, name="Quality")
            quality.group.user_set.add(users["demo-viewer"])
            assign_perm("conversations.view_conversations", quality.group, inbox)

        # retention: a default policy per demo company (kept if it exists)
        from retention.services.policy import policy_get_or_create

        for company in companies.values():
            policy_get_or_create(company=company)

        # Consent: a published German privacy notice v1 (the inbox keeps
        # notice_required off; the admin switches it on under Privacy notices).
        from consent.models import PrivacyNotice
        from consent.services import notice_create_draft, notice_publish

        if not PrivacyNotice.objects.filter(company=demo).exists():
            notice = notice_create_draft(
                company=demo,
                title="Datenschutzhinweis für den Chat",
                text=DEMO_NOTICE,
                actor=users["demo-admin"],
            )
            notice_publish(notice=notice, actor=users["demo-admin"])

        self.stdout.write(self.style.SUCCESS("Demo data ready."))


DEMO_NOTICE = """Verantwortlich für diesen Chat ist die Demo GmbH. Fragen zum Datenschutz beantwortet unsere Datenschutzbeauftragte unter datenschutz@demo.example.

Sie chatten anonym: Wir speichern keine IP-Adresse und keine Browserdaten. Ihre Nachrichten werden verschlüsselt gespeichert, damit unser Bot und unser Support-Team Ihre Frage beantworten können (Art. 6 Abs. 1 lit. b und f DSGVO).

Name, E-Mail-Adresse oder Telefonnummer speichern wir nur, wenn Sie im Kontaktformular ausdrücklich zustimmen (Art. 6 Abs. 1 lit. a DSGVO). Diese Einwilligung können Sie im Chat jederzeit widerrufen; die Angaben werden dann sofort gelöscht. Ohne Einwilligung entfernen wir personenbezogene Daten wie E-Mail-Adressen oder Telefonnummern aus Ihren Nachrichten, bevor sie gespeichert werden.

Gespräche werden nach der eingestellten Frist automatisch gelöscht. Wer welche Gespräche sehen darf und wie lange wir Daten aufbewahren, steht auf unserer Transparenzseite.

Sie haben das Recht auf Auskunft, Berichtigung, Löschung, Einschränkung der Verarbeitung, Datenübertragbarkeit und Widerspruch sowie das Recht, sich bei einer Aufsichtsbehörde zu beschweren."""
