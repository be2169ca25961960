"""Names that follow a cue: "mein Name ist", "ich heiße", "my name is", a signed greeting.

A name without a cue ("Anna hat gesagt ...") is not found: nothing in a single
message tells a first name from a product, a town or a German noun. After a
cue, one to three capitalised name-like words are taken ("Anna", "Anna
Schmidt", "Anna-Lena von Berg"), unless the first one is a word that often
follows such a cue and is no name ("this is Monday", "hier ist Ihre
Bestellung", "I'm Sorry", "Viele Grüße, Ihr Team").

"this is", "hier ist" and "I am" / "I'm" only count at the start of a
sentence or after a greeting ("Hello, this is John"), so "I think this is
Samsung's fault" keeps its brand.

Cost: the cues are literal phrases; the name after them is at most three
words of bounded length, so each match is bounded and a scan is linear.
"""

from __future__ import annotations

import re

from .spans import Span

# A capitalised word, "Anna-Lena", "O'Brien"; "Amazon's" is read as "Amazon".
_WORD = (
    r"[A-ZÄÖÜÀ-ÞŁŚŻ][a-zäöüßà-ÿłśżćńóę]{1,20}"
    r"(?:['’][A-Z][a-zäöüßà-ÿ]{1,20}|-[A-ZÄÖÜ][a-zäöüßà-ÿ]{1,20})?"
)
_PARTICLE = r"(?:von|van|de|der|den|zu|da|di|del|la|le|van der|von der|O'|Mc)"
_NAME = rf"{_WORD}(?:[ ](?:{_PARTICLE}[ ])?{_WORD}){{0,2}}"

_CUE_ANYWHERE = (
    r"mein(?:e)?[ ]Name[ ](?:ist|lautet|wäre)|ich[ ]hei(?:ß|ss)e|Name:|"
    r"my[ ]name[ ](?:is|'s)|my[ ]name’s|name's|I[ ]go[ ]by|call[ ]me|nennen[ ]Sie[ ]mich|"
    r"hier[ ](?:spricht|schreibt)|speaking[ ]with|sie[ ]sprechen[ ]mit|"
    r"(?:Konto)?inhaber(?:in)?:?|account[ ]holder:?|Ansprechpartner(?:in)?:?|Kontakt:"
)
# Titles, case-sensitive ("Frau Keller", not "frau" in running text).
_TITLES = r"Familie|Herrn?|Frau|Hr\.|Fr\.|Mr\.?|Mrs\.?|Ms\.?"
_CUE_SENTENCE = r"this[ ]is|hier[ ]ist|I[ ]am|I'm|I’m|it's|it’s"
_GREETING = (
    r"(?:Viele|Liebe|Beste|Herzliche|Freundliche|Schöne|Sonnige)[ ]Grüße|"
    r"Mit[ ]freundlichen[ ]Grüßen|Mit[ ]besten[ ]Grüßen|MfG|LG|VG|Gruß|Grüße|"
    r"(?:Best|Kind|Warm|Many)[ ]regards|Regards|Best[ ]wishes|Cheers|Sincerely|"
    r"Yours[ ]sincerely|Yours[ ]truly|Thanks[ ]in[ ]advance|Thank[ ]you|Thanks|"
    r"Danke[ ]im[ ]Voraus|Vielen[ ]Dank|Danke|Best"
)
_NAMES = re.compile(
    r"(?:"
    rf"(?<![\w])(?:(?i:{_CUE_ANYWHERE})|{_TITLES})[ ]{{1,2}}(?:(?:Dr|Prof)\.[ ])?"
    rf"|(?:^|(?<=[.!?,:;\n])[ ]{{0,2}}|(?<=\n))(?i:{_CUE_SENTENCE})[ ]{{1,2}}"
    rf"|(?:^|(?<=[.!?,\n])[ ]{{0,2}})(?:{_GREETING})[ ]?[,!:]?[ \n]{{1,3}}(?:(?:Dr|Prof)\.[ ])?"
    r")"
    rf"(?P<name>{_NAME})"
    r"(?![\w])"
)

# Capitalised words that follow a cue but are not names.
_NOT_NAMES = frozenset(
    """
    Ihr Ihre Ihrem Ihren Euer Eure Dein Deine Mein Meine Unser Unsere Der Die Das Den Dem Ein
    Eine Einer Team Kundenservice Kundendienst Support Service Shop Bestellung Rechnung Lieferung
    Nummer Kundennummer Auftrag Paket Sendung Frage Problem Info Infos Anfrage Reklamation
    Retoure Rücksendung Gutschein Bitte Danke Hallo Herr Frau Familie Montag Dienstag Mittwoch
    Donnerstag Freitag Samstag Sonntag Januar Februar März April Mai Juni Juli August September
    Oktober November Dezember The This That These Those It Its My Your Our Their His Her A An
    Not Just Still Also Really Very So Sorry Happy Glad Sure Unsure Interested Looking Trying
    Writing Calling Asking Here There Back Done Fine Good Great Okay Ok Yes No Monday Tuesday
    Wednesday Thursday Friday Saturday Sunday January February March April May June July
    August September October November December Order Invoice Delivery Customer Team Thanks
    Thank Hello Hi Hey Dear Mr Mrs Ms Dr Again Afraid Confused Disappointed Frustrated
    Unhappy Waiting Still Regarding About Re Please Hope Hoping Contacting Following Und And
    Schon Noch Nicht Leider Gerne Gern Sehr Wieder Alles Nichts Etwas Gut Wegen Bezüglich
    Kunde Kundin Neukunde Stammkunde Mitglied Student Studentin Rentner Rentnerin English
    German Deutsch Englisch Premium Plus Pro Max Prime Gold Silver Silber Standard Basic
    Express Amazon Paypal PayPal Klarna Visa Mastercard Apple Samsung Google Android Windows
    Wir Ich Sie Er Es Man Allen Euch Dir Dich Ihnen Gesundheit Urlaub Weihnachten Ostern
    Everyone All You Both Team Staff Company Store Admin Im Am In Auf An Any When Where What
    How Why Who Can Could Would Should Is Are Do Does Did Will Have Has Wann Wo Was Wie Warum
    Wer Können Kann Könnten Ist Sind Gibt Habe Haben Hat Bis Best Kind Cheers Regards Grüße
    Viele Liebe Beste Herzliche Freundliche Schöne Sonnige Mit Vielen Many Warm Yours Sincerely
    """.split()
)


# A piece of every cue above, lower-case: a message without any of them has no cue,
# and the costly scan is skipped (a few substring tests instead of a regex pass).
# tests/consent/test_pii_new_kinds.py checks that the gate never loses a name.
CUE_PIECES = (
    "name", "hei", "hier", "this", "i am", "i'm", "i’m", "it's", "it’s", "go by", "call",
    "nennen", "speaking", "sprechen", "inhaber", "holder", "ansprech", "kontakt", "famil",
    "herr", "frau", "hr.", "fr.", "mr", "ms", "grüß", "gruß", "mfg", "lg", "vg", "regards",
    "wishes", "cheers", "sincerely", "yours", "thank", "dank", "best",
)  # fmt: skip


def find_names(text: str) -> list[Span]:
    if not any(map(text.lower().__contains__, CUE_PIECES)):  # a loop in C: about 2 us
        return []
    return _scan(text)


def _scan(text: str) -> list[Span]:
    found: list[Span] = []
    pos = 0
    while (m := _NAMES.search(text, pos)) is not None:
        words = m.group("name").split(" ")
        # Cut off trailing words that are no name ("Anna Danke"), then give up if
        # the first one is none; a cue may start at that word ("Thanks! Best, Chloe").
        while words and words[-1] in _NOT_NAMES:
            words.pop()
        start = m.start("name")
        if not words or words[0] in _NOT_NAMES:
            pos = max(m.start() + 1, start - 2)  # the sentence start before that word
            continue
        found.append(Span("name", start, start + len(" ".join(words))))
        pos = m.end()
    return found
