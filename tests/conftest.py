import pytest

from tests.personas import Personas, make_personas


@pytest.fixture
def personas(db) -> Personas:
    return make_personas()


@pytest.fixture
def login(client):
    """Log a persona in on the Django test client: login(personas.alice)."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
