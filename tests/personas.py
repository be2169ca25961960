"""The shared cast, as Healthchecks has alice, bob and charlie.

- alice: admin of company A ("Acme")
- bob: operator of A, in team Support (see + reply on inbox "Web")
- charlie: viewer of A, in team Quality (see on inbox "Web")
- dave: admin of company B ("Bravo")
"""

from dataclasses import dataclass

from guardian.shortcuts import assign_perm

from accounts.models import Company, Membership, Team
from accounts.services import company_create, membership_set, team_create, team_member_add
from conversations.models import Inbox
from tests.factories import PASSWORD, UserFactory


@dataclass
class Personas:
    company_a: Company
    company_b: Company
    inbox_a: Inbox
    inbox_a2: Inbox
    inbox_b: Inbox
    support: Team
    quality: Team
    alice: object
    bob: object
    charlie: object
    dave: object
    password: str = PASSWORD


def make_personas() -> Personas:
    a = company_create(slug="acme", name="Acme", country="DE", language="en")
    b = company_create(slug="bravo", name="Bravo", country="AT", language="en")
    inbox_a = Inbox.objects.create(
        company=a, name="Web", language="en", public_key="acme-web", greeting="Hello from Acme!"
    )
    inbox_a2 = Inbox.objects.create(company=a, name="Shop", language="en", public_key="acme-shop")
    inbox_b = Inbox.objects.create(company=b, name="Web", language="en", public_key="bravo-web")
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    charlie = UserFactory(username="charlie")
    dave = UserFactory(username="dave")
    membership_set(user=alice, company=a, role=Membership.Role.ADMIN)
    membership_set(user=bob, company=a, role=Membership.Role.OPERATOR)
    membership_set(user=charlie, company=a, role=Membership.Role.VIEWER)
    membership_set(user=dave, company=b, role=Membership.Role.ADMIN)
    support = team_create(company=a, name="Support")
    team_member_add(team=support, user=bob)
    assign_perm("conversations.view_conversations", support.group, inbox_a)
    assign_perm("conversations.reply_conversations", support.group, inbox_a)
    quality = team_create(company=a, name="Quality")
    team_member_add(team=quality, user=charlie)
    assign_perm("conversations.view_conversations", quality.group, inbox_a)
    return Personas(
        company_a=a,
        company_b=b,
        inbox_a=inbox_a,
        inbox_a2=inbox_a2,
        inbox_b=inbox_b,
        support=support,
        quality=quality,
        alice=alice,
        bob=bob,
        charlie=charlie,
        dave=dave,
    )
