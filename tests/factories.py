import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Company, Membership, Team
from conversations.models import Conversation, Inbox, Message, Visitor

PASSWORD = "correct horse battery staple"


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    slug = factory.Sequence(lambda n: f"company-{n}")
    name = factory.Sequence(lambda n: f"Company {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    company = factory.SubFactory(CompanyFactory)
    role = Membership.Role.OPERATOR


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Team {n}")
    group = factory.LazyAttribute(lambda o: Group.objects.create(name=f"c{o.company.pk}:{o.name}"))


class InboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inbox

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Inbox {n}")
    greeting = "Hello!"
    language = "en"


class VisitorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visitor

    inbox = factory.SubFactory(InboxFactory)
    company = factory.SelfAttribute("inbox.company")
    token_hash = factory.Sequence(lambda n: f"{n:064x}")
    token_expires_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=30))


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    inbox = factory.SubFactory(InboxFactory)
    company = factory.SelfAttribute("inbox.company")
    visitor = factory.SubFactory(VisitorFactory, inbox=factory.SelfAttribute("..inbox"))
    last_message_at = factory.LazyFunction(timezone.now)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    company = factory.SelfAttribute("conversation.company")
    sender = Message.Sender.VISITOR
    body = factory.Sequence(lambda n: f"message {n}")
