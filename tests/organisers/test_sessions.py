"""An organiser's sessions end when they should (sign-out, deactivation, a new role,
the lifetime), and nobody can keep an organiser from signing in."""

import re

import pytest

from tests.conftest import csrf_token, form_token, organiser, request_link, signin_link

ADMIN_PAGE = "/organisation/verteiler"


def copy_of(client):
    """A second browser with the same cookies: a copied session cookie."""
    thief = client.application.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def visitor_from(app, address):
    visitor = app.test_client()
    visitor.environ_base["REMOTE_ADDR"] = address
    return visitor


def without_token(page: str) -> str:
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", page.split("<main")[1])


def sign_out(client):
    token = form_token(client)
    return client.post("/organisation/abmelden", data={"csrf_token": token})


def test_signing_out_ends_a_copied_session_too(client, sign_in):
    sign_in("admin@example.org", "admin")
    thief = copy_of(client)
    assert thief.get(ADMIN_PAGE).status_code == 200
    assert sign_out(client).status_code == 302
    assert thief.get(ADMIN_PAGE).status_code == 302
    assert client.get(ADMIN_PAGE).status_code == 302


def test_a_deactivated_organiser_is_out_at_once_and_cannot_sign_in(client, runner, mailbox,
                                                                   sign_in):
    sign_in("orga@example.org", "organiser")
    request_link(client, "orga@example.org")  # a link still in the mailbox
    unused = signin_link(mailbox, "orga@example.org")
    result = runner.invoke(args=["organisers", "deactivate", "orga@example.org"])
    assert result.exit_code == 0, result.output
    assert client.get("/organisation/").status_code == 302
    assert client.get(unused).status_code == 400
    assert client.post(unused, data={"csrf_token": form_token(client)}
                       ).status_code == 400
    before = len(mailbox.to("orga@example.org"))
    request_link(client, "orga@example.org")
    assert len(mailbox.to("orga@example.org")) == before  # no link for the deactivated

    again = runner.invoke(args=["organisers", "deactivate", "orga@example.org"])
    assert again.exit_code == 1 and "bereits deaktiviert" in again.output
    assert runner.invoke(args=["organisers", "activate", "orga@example.org"]).exit_code == 0
    request_link(client, "orga@example.org")
    assert len(mailbox.to("orga@example.org")) == before + 1


def test_a_new_role_ends_the_session_and_holds_after_signing_in_again(client, runner, mailbox,
                                                                      sign_in):
    sign_in("chef@example.org", "admin")
    assert client.get(ADMIN_PAGE).status_code == 200
    result = runner.invoke(args=["organisers", "role", "chef@example.org", "organiser"])
    assert result.exit_code == 0, result.output
    assert client.get(ADMIN_PAGE).status_code == 302
    request_link(client, "chef@example.org")
    link = signin_link(mailbox, "chef@example.org")
    client.post(link, data={"csrf_token": csrf_token(client.get(link).text)})
    assert client.get("/organisation/").status_code == 200
    assert client.get(ADMIN_PAGE).status_code == 403
    listing = runner.invoke(args=["organisers", "list"])
    assert "chef@example.org\torganiser\tactive" in listing.output


@pytest.mark.parametrize("args", [["organisers", "role", "nobody@example.org", "admin"],
                                  ["organisers", "deactivate", "nobody@example.org"]])
def test_organiser_commands_refuse_unknown_addresses_in_one_line(runner, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "kein Organisator" in result.output


def test_the_session_ends_after_its_lifetime(app, client, sign_in):
    sign_in("orga@example.org", "organiser")
    assert client.get("/organisation/").status_code == 200
    app.config["PERMANENT_SESSION_LIFETIME"] = -1  # the cookie's signature is now too old
    assert client.get("/organisation/").status_code == 302


def test_sign_in_bombing_cannot_lock_an_organiser_out(app, runner, mailbox):
    organiser(runner, "orga@example.org", "organiser")
    attacker = visitor_from(app, "203.0.113.9")
    answers = [request_link(attacker, "orga@example.org") for _ in range(30)]
    refused = [answer for answer in answers if answer.status_code == 400]
    assert refused and "zu viele Anmeldelinks" in refused[-1].text  # told, not dropped
    first = signin_link(mailbox, "orga@example.org")  # the oldest link of the flood
    flooded = len(mailbox.to("orga@example.org"))
    assert flooded <= 5

    # From 50 other addresses: no more mails to the organiser (the limit is per
    # organiser, across every client address).
    for n in range(50):
        request_link(visitor_from(app, f"192.0.2.{n + 1}"), "orga@example.org")
    assert len(mailbox.to("orga@example.org")) == flooded

    the_organiser = visitor_from(app, "198.51.100.7")
    assert request_link(the_organiser, "orga@example.org").status_code == 400  # told so
    # Every link sent so far still works: the first one signs in.
    page = the_organiser.get(first)
    assert the_organiser.post(first, data={"csrf_token": csrf_token(page.text)}).status_code == 302
    assert the_organiser.get("/organisation/").status_code == 200


def test_the_limit_answers_the_same_for_unknown_addresses(app, runner, mailbox):
    organiser(runner, "orga@example.org", "organiser")
    known = visitor_from(app, "203.0.113.1")
    unknown = visitor_from(app, "203.0.113.2")
    for _ in range(6):
        last_known = request_link(known, "orga@example.org")
        last_unknown = request_link(unknown, "niemand@example.org")
    assert last_known.status_code == last_unknown.status_code == 400
    assert (without_token(last_known.text).replace("orga@example.org", "")
            == without_token(last_unknown.text).replace("niemand@example.org", ""))
