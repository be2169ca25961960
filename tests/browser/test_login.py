import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_operator_logs_in_and_sees_the_console_shell(
    live_server, new_page, screenshot, personas
):
    page = new_page()
    page.goto(f"{live_server.url}/console/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(personas.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/console/")
    assert page.get_by_role("heading", name="Acme").is_visible()
    assert "Operator" in page.locator(".who").inner_text()
    assert screenshot(page, "console-shell").exists()


def test_a_wrong_password_shows_an_error(live_server, new_page, personas):
    page = new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").is_visible()
