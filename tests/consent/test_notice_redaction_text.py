"""The seeded privacy notice promises only what the detector does (issue 15)."""

from chatbot_site.management.commands.seed_demo import DEMO_NOTICE


def test_the_seeded_notice_says_what_is_and_is_not_removed():
    for said in (
        "E-Mail-Adressen",
        "Telefonnummern",
        "IBAN",
        "Kartennummern",
        "Postanschriften",
        "mein Name ist",
        "geboren am",
        "Steuer-Identifikationsnummer",
        "Nicht zuverlässig entfernt",
        "Gesundheit",
    ):
        assert said in DEMO_NOTICE, said
