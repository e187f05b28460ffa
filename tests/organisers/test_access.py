"""Who may open what in the organiser area: every route under /organisation, every
method, with a valid CSRF token (so that only a guard can refuse), as an anonymous
visitor, as an organiser and as an admin. Removing ``@organiser_required`` or
``@admin_required`` from any view makes one of these cases fail."""

from datetime import timedelta

import pytest

from app import create_app
from app.extensions import db
from app.inbound import services as inbound
from app.knowledge import projects
from app.knowledge import services as topics
from app.meetings import announcements
from app.posts import services as posts
from app.registrations import services as registrations
from app.shared.database import utcnow
from app.subscriptions import services as subscribers
from tests.conftest import announced_meeting, form_token

# The pages of the organiser area that only admins may open.
ADMIN_ONLY = {"subscriptions.subscriber_list", "subscriptions.subscriber_import",
              "subscriptions.subscriber_import_apply", "subscriptions.subscriber_export",
              "subscriptions.add_person", "subscriptions.person", "subscriptions.person_action",
              "organisers.audit_log"}
# Signing in and out is for everyone.
OPEN = {"organisers.signin", "organisers.signin_link", "organisers.signout"}


def organiser_routes():
    """(endpoint, URL rule, method) for every guarded route; read from the URL map, so
    a new page is checked without being listed here."""
    app = create_app({"SECRET_KEY": "routes", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/organisation") and rule.endpoint not in OPEN:
            routes.extend((rule.endpoint, rule.rule, method)
                          for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return routes


ROUTES = organiser_routes()


def test_the_admin_list_names_real_pages():
    assert {endpoint for endpoint, _rule, _method in ROUTES} >= ADMIN_ONLY
    assert len(ROUTES) >= 15


@pytest.fixture
def url_for_rule(app):
    """Turn a rule into a URL with the IDs of a venue and a meeting that exist."""
    with app.app_context():
        # A NetzWerkStatt, so that its registration pages have something to show.
        meeting = announced_meeting("Mitte", start=utcnow() + timedelta(days=40), kind="workshop")
        venue = meeting.venue
        announcement = announcements.write(meeting, actor="test", subject="Thema",
                                           body="Text")
        registrations.configure(meeting, actor="test", open_=True, capacity=10,
                                childcare_capacity=0)
        registrations.register(meeting, email="gast@example.org", name="Gast", consent=True)
        registration = registrations.lists(meeting)["unconfirmed"][0]
        person = subscribers.add_person("person@example.org", actor="test", consent_note="Tel.")
        db.session.commit()
        kept = inbound.receive(b"From: someone@example.org\r\nSubject: Frage\r\n\r\nHallo\r\n")
        post = posts.write(person, subject="Frage an alle", text="Hallo", files=[], public=False)
        topic = topics.propose_as_member(person, title="Tauschringe", description=None,
                                         can_tell=False)
        project = projects.propose(name="Tauschring", district="Mitte", description="Tauschen",
                                   phases=[], contact_name=None, contact_email=None,
                                   email="gast@example.org", ip=None)
        db.session.commit()
        ids = {"<int:meeting_id>": str(meeting.id), "<int:venue_id>": str(venue.id),
               "<int:mail_id>": str(kept.id), "<int:announcement_id>": str(announcement.id),
               "<int:subscriber_id>": str(person.id), "<action>": "abmelden",
               "<int:registration_id>": str(registration.id), "<int:post_id>": str(post.id),
               "<int:topic_id>": str(topic.id), "<int:project_id>": str(project.id),
               "<int:entry_id>": str(project.id), "<any(projekt, uebernahme):kind>": "projekt",
               "<any(veroeffentlichen, ablehnen):action>": "veroeffentlichen",
               "<any(platz, warteliste, absagen):action>": "absagen"}

    def build(rule):
        for placeholder, value in ids.items():
            rule = rule.replace(placeholder, value)
        return rule

    return build


def visit(client, url, method):
    """The request with a valid CSRF token of the client's own session."""
    token = form_token(client)
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": token})


@pytest.mark.parametrize(("endpoint", "rule", "method"), ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(client, url_for_rule, endpoint, rule, method):
    response = visit(client, url_for_rule(rule), method)
    assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith("/organisation/anmelden")


@pytest.mark.parametrize(("endpoint", "rule", "method"), ROUTES)
def test_organisers_reach_their_pages_and_not_the_admins(client, runner, mailbox, url_for_rule,
                                                         endpoint, rule, method, sign_in):
    sign_in("orga@example.org", "organiser")
    response = visit(client, url_for_rule(rule), method)
    if endpoint in ADMIN_ONLY:
        assert response.status_code == 403
    else:
        assert response.status_code not in (401, 403)
        assert not response.headers.get("Location", "").endswith("/organisation/anmelden")


@pytest.mark.parametrize(("endpoint", "rule", "method"), ROUTES)
def test_admins_reach_every_page(client, runner, mailbox, url_for_rule, endpoint, rule, method, sign_in):
    sign_in("admin@example.org", "admin")
    response = visit(client, url_for_rule(rule), method)
    assert response.status_code not in (401, 403)
    assert not response.headers.get("Location", "").endswith("/organisation/anmelden")
