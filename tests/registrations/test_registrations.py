"""NetzWerkStatt registration through its pages and the mails at a real SMTP server:
double opt-in, places and child-care places, the waiting list that moves up with
offers, cancelling from the mail, the organisers' list, export, reminder, deletion
after the event; and bad input that gets a clear German answer and records nothing."""

import re
from datetime import timedelta

import sqlalchemy as sa

from app.delivery import sender
from app.extensions import db
from app.meetings import services as meetings
from app.registrations import services as registrations
from app.registrations.models import Registration, RegistrationTally
from app.shared.database import utcnow
from app.shared.timeutil import spoken
from app.subscriptions.mails import subscriber_links
from app.subscriptions.models import Subscriber, SubscriberStatus
from tests.conftest import announced_meeting, csrf_token, link_in, member, path_of

START = utcnow().replace(second=0, microsecond=0) + timedelta(days=30)


def workshop(app, *, capacity=1, childcare=0, open_=True, start=START) -> int:
    """An announced NetzWerkStatt taking registrations; its ID."""
    with app.app_context():
        meeting = announced_meeting("Vaihingen", start=start, hours=6,
                                    topic="Gemeinsam gestalten", kind="workshop")
        registrations.configure(meeting, actor="test", open_=open_, capacity=capacity,
                                childcare_capacity=childcare)
        db.session.commit()
        return meeting.id


def register(client, meeting_id, email, name="Gast", **fields):
    form = f"/netzwerkstatt/{meeting_id}/anmelden"
    # A public form's token (from the home page: a closed event's page has no form).
    token = csrf_token(client.get("/").text)
    data = {"csrf_token": token, "email": email, "name": name, "consent": "y",
            "children": "0", **fields}
    return client.post(form, data={k: v for k, v in data.items() if v is not None})


def press(client, path, **data):
    """Press the page's button (a POST with the page's CSRF token)."""
    return client.post(path, data={"csrf_token": csrf_token(client.get(path).text), **data},
                       follow_redirects=True)


def registered_and_confirmed(client, mailbox, meeting_id, email, **fields):
    """Register ``email`` (not on the list) and confirm by the link in the mail; the
    status page that follows."""
    assert register(client, meeting_id, email, **fields).status_code == 200
    confirm = link_in(mailbox.to(email)[-1], "/netzwerkstatt/bestaetigen/")
    return press(client, confirm)


def people(app, meeting_id):
    with app.app_context():
        return {r.email: r.status.value for r in db.session.scalars(
            sa.select(Registration).where(Registration.meeting_id == meeting_id))}


def main_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_full_event_waiting_list_moves_up_by_offer(app, client, mailbox, sign_in):
    meeting_id = workshop(app, capacity=1)
    page = registered_and_confirmed(client, mailbox, meeting_id, "anna@example.org", name="Anna")
    assert "Sie haben einen Platz." in page.text
    place = mailbox.to("anna@example.org")[-1]
    assert place["Subject"] == "Ihr Platz bei der NetzWerkStatt"
    calendar_part = next(p for p in place.walk() if p.get_content_type() == "text/calendar")
    assert b"METHOD:REQUEST" in calendar_part.get_payload(decode=True)

    page = registered_and_confirmed(client, mailbox, meeting_id, "ben@example.org", name="Ben")
    assert "Sie stehen auf der Warteliste, auf Platz 1." in main_text(page.text)
    page = registered_and_confirmed(client, mailbox, meeting_id, "cem@example.org", name="Cem")
    assert "auf Platz 2." in main_text(page.text)
    assert "auf Platz 2" in mailbox.to("cem@example.org")[-1].get_body(
        preferencelist=("plain",)).get_content()

    # Anna cancels from her mail: Ben gets the offer, Cem moves to position 1.
    status_link = link_in(place, "/netzwerkstatt/anmeldung/")
    asked = press(client, status_link)  # one tap only asks
    assert "Wirklich stornieren?" in asked.text and 'name="sure"' in asked.text
    assert people(app, meeting_id)["anna@example.org"] == "registered"
    cancelled = press(client, status_link, sure="yes")
    assert "Ihre Anmeldung ist storniert" in cancelled.text
    offer_mail = mailbox.to("ben@example.org")[-1]
    assert offer_mail["Subject"] == "Ein Platz bei der NetzWerkStatt ist für Sie frei"
    text = offer_mail.get_body(("plain",)).get_content()
    with app.app_context():  # the deadline as the pages write dates, not as ISO
        until = db.session.scalar(sa.select(Registration.offer_expires_at).where(
            Registration.email == "ben@example.org"))
        assert f"bis {spoken(until)}" in main_text(text) and not re.search(r"\d{4}-\d\d-", text)
    offer = link_in(offer_mail, "/angebot/")
    assert "Platz annehmen" in client.get(offer).text  # a GET changes nothing
    assert people(app, meeting_id)["ben@example.org"] == "offered"
    accepted = press(client, offer, accept="Platz annehmen")
    assert "Der Platz gehört Ihnen" in accepted.text and "Sie haben einen Platz." in accepted.text
    again = press(client, offer, accept="Platz annehmen")
    assert again.status_code == 400 and "bereits angenommen" in again.text
    assert people(app, meeting_id) == {"anna@example.org": "cancelled",
                                       "ben@example.org": "registered",
                                       "cem@example.org": "waiting"}
    cem_status = link_in(mailbox.to("cem@example.org")[-1], "/netzwerkstatt/anmeldung/")
    assert "auf Platz 1." in main_text(client.get(cem_status).text)

    # The organisers' list shows it, and the host's export holds the details.
    sign_in("orga@example.org")
    listing = client.get(f"/organisation/netzwerkstatt/{meeting_id}").text
    with_place = listing.split('data-status="registered"')[1].split("</table>")[0]
    assert "Ben" in with_place and "Anna" not in with_place
    export = client.get(f"/organisation/netzwerkstatt/{meeting_id}/teilnehmende.csv")
    assert export.headers["Cache-Control"] == "no-store"
    assert export.data.startswith("\ufeff".encode())  # BOM and semicolons, for Excel
    assert "ben@example.org" in export.text and "Teilnehmende;1" in export.text


def test_a_members_address_typed_by_anyone_holds_no_place_until_confirmed(app, client,
                                                                          mailbox):
    """Anyone can type a list member's address into the form: the member gets a
    confirmation link like everyone else, and until they use it nothing is held."""
    meeting_id = workshop(app, capacity=1)
    with app.app_context():
        member("mitglied@example.org")
        db.session.commit()
    answer = register(client, meeting_id, "mitglied@example.org", name="Mia")
    assert "Bitte schauen Sie in Ihr E-Mail-Postfach" in answer.text
    same = register(client, meeting_id, "neu@example.org", name="Nele")
    assert main_text(same.text) == main_text(answer.text)
    assert people(app, meeting_id) == {"mitglied@example.org": "unconfirmed",
                                       "neu@example.org": "unconfirmed"}
    assert registrations_places(app, meeting_id)["free"] == 1  # nothing held
    confirm = link_in(mailbox.to("mitglied@example.org")[-1], "/netzwerkstatt/bestaetigen/")
    press(client, confirm)
    assert people(app, meeting_id)["mitglied@example.org"] == "registered"
    assert mailbox.to("mitglied@example.org")[-1]["Subject"] == "Ihr Platz bei der NetzWerkStatt"


def registrations_places(app, meeting_id):
    with app.app_context():
        return registrations.places(meetings.get(meeting_id))


def test_child_care_places_count_on_their_own(app, client, mailbox):
    meeting_id = workshop(app, capacity=10, childcare=2)
    registered_and_confirmed(client, mailbox, meeting_id, "eins@example.org", children="2",
                             children_ages="3, 5")
    page = registered_and_confirmed(client, mailbox, meeting_id, "zwei@example.org",
                                    children="1", children_ages="4")
    # Places are free, but the child care is full: waiting, and told which is full.
    assert "Warteliste" in page.text and "Die Kinderbetreuung ist voll" in main_text(page.text)
    told = mailbox.to("zwei@example.org")[-1].get_body(("plain",)).get_content()
    assert "die Kinderbetreuung der NetzWerkStatt ist voll" in main_text(told)
    # Someone without children takes a free place that nobody waiting can take.
    page = registered_and_confirmed(client, mailbox, meeting_id, "drei@example.org")
    assert "Sie haben einen Platz." in page.text
    # The first one cancels: the child care has room again, the one waiting gets it.
    press(client, link_in(mailbox.to("eins@example.org")[-1], "/netzwerkstatt/anmeldung/"),
          sure="yes")
    assert people(app, meeting_id)["zwei@example.org"] == "offered"
    assert people(app, meeting_id)["drei@example.org"] == "registered"


def test_bad_input_gets_a_clear_answer_and_records_nothing(app, client, mailbox):
    meeting_id = workshop(app, capacity=2, childcare=5)
    cases = [
        ({"consent": None}, "Bitte stimmen Sie zu"),
        ({"children": "50", "children_ages": "alle"}, "von 0 bis 10"),
        ({"children": "zwei"}, "von 0 bis 10"),
        ({"children": "2", "children_ages": ""}, "Bitte geben Sie das Alter der Kinder an"),
        ({"name": ""}, "Name"),
        ({"email": "keine-adresse"}, "E-Mail-Adresse"),
    ]
    for fields, message in cases:
        email = fields.pop("email", "bad@example.org")
        answer = register(client, meeting_id, email, **fields)
        assert answer.status_code == 400, fields
        assert message in answer.text, fields
    assert people(app, meeting_id) == {}
    assert mailbox.messages == []

    # Twice with one address: one registration, the second mail says nothing changed.
    registered_and_confirmed(client, mailbox, meeting_id, "zweimal@example.org")
    assert register(client, meeting_id, "zweimal@example.org").status_code == 200
    assert people(app, meeting_id) == {"zweimal@example.org": "registered"}
    assert "bereits angemeldet" in mailbox.to("zweimal@example.org")[-1].get_body(
        preferencelist=("plain",)).get_content()

    # Closed, and past.
    closed = workshop(app, open_=False, start=START + timedelta(days=1))
    answer = register(client, closed, "spaet@example.org")
    assert answer.status_code == 400 and "Anmeldung für diese NetzWerkStatt ist geschlossen" \
        in answer.text
    with app.app_context():
        over = announced_meeting("Mitte", start=START, kind="workshop",
                                 now=START - timedelta(days=40))
        over.registration_open = True
        over.start_at, over.end_at = utcnow() - timedelta(days=1), utcnow() - timedelta(hours=20)
        db.session.commit()
        over_id = over.id
    answer = register(client, over_id, "vorbei@example.org")
    assert answer.status_code == 400 and "vorbei oder abgesagt" in answer.text
    assert "spaet@example.org" not in people(app, closed)
    assert "vorbei@example.org" not in people(app, over_id)
    # A draft NetzWerkStatt has no public form.
    with app.app_context():
        draft = meetings.create(actor="test", start=START + timedelta(days=3),
                                end=START + timedelta(days=3, hours=2), district="Mitte",
                                kind="workshop")
        db.session.commit()
        draft_id = draft.id
    assert client.get(f"/netzwerkstatt/{draft_id}/anmelden").status_code == 404


def test_offer_links_lapse_and_belong_to_one_person(app, client, mailbox):
    meeting_id = workshop(app, capacity=1)
    for email in ("erste@example.org", "zweite@example.org", "dritte@example.org"):
        registered_and_confirmed(client, mailbox, meeting_id, email)
    press(client, link_in(mailbox.to("erste@example.org")[-1], "/netzwerkstatt/anmeldung/"),
          sure="yes")
    offer = link_in(mailbox.to("zweite@example.org")[-1], "/angebot/")

    # Another person's ID with this token: not valid, nothing changes.
    with app.app_context():
        other = db.session.scalar(sa.select(Registration.id).where(
            Registration.email == "dritte@example.org"))
    forged = re.sub(r"/netzwerkstatt/\d+/", f"/netzwerkstatt/{other}/", offer)
    answer = client.get(forged)
    assert answer.status_code == 400 and "Dieser Link ist ungültig" in answer.text
    assert client.get(offer[:-3] + "xyz").status_code == 400

    # 49 hours later the worker lets the offer lapse; the next in line gets it.
    with app.app_context():
        assert registrations.lapse_offers(now=utcnow() + timedelta(hours=49)) == 1
        db.session.commit()
        sender.drain()
    late = press(client, offer, accept="Platz annehmen")
    assert late.status_code == 400 and "abgelaufen" in late.text
    assert people(app, meeting_id) == {"erste@example.org": "cancelled",
                                       "zweite@example.org": "lapsed",
                                       "dritte@example.org": "offered"}
    assert mailbox.to("zweite@example.org")[-1]["Subject"] == \
        "Ihr Platzangebot für die NetzWerkStatt ist verfallen"
    # Declining passes the place on (nobody else waits: it stays free).
    declined = press(client, link_in(mailbox.to("dritte@example.org")[-1], "/angebot/"),
                     decline="Nicht mehr interessiert")
    assert "Danke für Ihre Nachricht" in declined.text
    assert people(app, meeting_id)["dritte@example.org"] == "cancelled"


def test_organisers_move_people_and_it_is_audited(app, client, mailbox, sign_in):
    meeting_id = workshop(app, capacity=1)
    registered_and_confirmed(client, mailbox, meeting_id, "a@example.org", name="Alma")
    registered_and_confirmed(client, mailbox, meeting_id, "b@example.org", name="Bodo")
    sign_in("admin@example.org", role="admin")
    with app.app_context():
        bodo = db.session.scalar(sa.select(Registration.id).where(
            Registration.email == "b@example.org"))
    page = f"/organisation/netzwerkstatt/{meeting_id}"
    moved = client.post(f"/organisation/netzwerkstatt/anmeldung/{bodo}/platz",
                        data={"csrf_token": csrf_token(client.get(page).text)},
                        follow_redirects=True)
    assert "Bodo wurde verschoben" in moved.text
    assert people(app, meeting_id) == {"a@example.org": "registered", "b@example.org": "registered"}
    log = client.get("/organisation/protokoll").text
    assert "Anmeldung vom Orga-Team verschoben" in log and "b@example.org" in log
    # Capacity and closing on the same page; a bad number changes nothing.
    bad = client.post(page, data={"csrf_token": csrf_token(client.get(page).text),
                                  "registration_open": "y", "capacity": "viele"})
    assert bad.status_code == 400 and "ganze Zahl" in bad.text
    client.post(page, data={"csrf_token": csrf_token(client.get(page).text), "capacity": "3",
                            "childcare_capacity": "0"})
    with app.app_context():
        meeting = meetings.find(meeting_id)
        assert (meeting.registration_open, meeting.capacity) == (False, 3)


def test_reminder_once_and_data_deleted_after_the_event(app, client, mailbox):
    meeting_id = workshop(app, capacity=3, childcare=4)
    registered_and_confirmed(client, mailbox, meeting_id, "kind@example.org", children="2",
                             children_ages="2 und 6", access_needs="Rollstuhl")
    with app.app_context():
        assert registrations.queue_reminders(now=START - timedelta(days=1)) == 1
        db.session.commit()
        assert registrations.queue_reminders(now=START - timedelta(hours=20)) == 0
        db.session.commit()
        sender.drain()
    reminder = mailbox.to("kind@example.org")[-1]
    assert reminder["Subject"] == "Bald ist NetzWerkStatt"
    assert "Kinderbetreuung ist für 2 Kinder gebucht" in reminder.get_body(
        preferencelist=("plain",)).get_content()
    with app.app_context():
        assert registrations.forget_past(now=START + timedelta(days=80)) == 0
        assert registrations.forget_past(now=START + timedelta(days=91)) == 1
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 0
        tally = db.session.get(RegistrationTally, meeting_id)
        assert (tally.registered, tally.children) == (1, 2)


def test_a_member_registers_at_once_through_their_own_link(app, client, mailbox):
    """Every list mail links to the member's settings page; from there their own signed
    link registers them without a confirmation mail. A link with another member's
    token, a forged one, or one of a member who has left holds nothing."""
    meeting_id = workshop(app, capacity=1)
    with app.app_context():
        mia = member("mia@example.org", name="Mia")
        gone = member("weg@example.org", status=SubscriberStatus.UNSUBSCRIBED)
        settings = {person.email: path_of(subscriber_links(person)["preferences_url"])
                    for person in (mia, gone)}
    page = client.get(settings["mia@example.org"]).text
    own_link = re.search(r'href="(/netzwerkstatt/\d+/anmelden/[^"]+)"', page)[1]
    assert "/anmelden/" not in client.get(settings["weg@example.org"]).text
    form = client.get(own_link)
    assert "mia@example.org" in form.text and 'name="email"' not in form.text
    assert 'value="Mia"' in form.text  # prefilled from the member's settings
    done = client.post(own_link, data={"csrf_token": csrf_token(form.text), "name": "Mia",
                                       "consent": "y", "children": "0"},
                       follow_redirects=True)
    assert "Sie haben einen Platz." in done.text
    assert people(app, meeting_id) == {"mia@example.org": "registered"}
    [mail] = mailbox.to("mia@example.org")
    assert mail["Subject"] == "Ihr Platz bei der NetzWerkStatt"  # no confirmation asked for

    with app.app_context():
        gone_token = registrations.member_token(
            db.session.scalar(sa.select(Subscriber).where(Subscriber.email == "weg@example.org")))
    forged = own_link.rsplit("/", 1)[0] + "/" + own_link.rsplit("/", 1)[1][:-3] + "xyz"
    for link in (own_link.rsplit("/", 1)[0] + "/" + gone_token, forged):
        refused = client.post(link, data={"csrf_token": csrf_token(client.get("/").text),
                                          "name": "X", "consent": "y", "children": "0"})
        assert refused.status_code == 400
    assert people(app, meeting_id) == {"mia@example.org": "registered"}


def field_errors(html: str) -> dict[str, str]:
    """Each field's error as the page shows it: under the field, tied to it."""
    errors = dict(re.findall(r'<p class="field-error" id="([\w-]+)-error">([^<]*)</p>', html))
    for name in errors:
        assert f'aria-describedby="{name}-error"' in html
    return errors


def test_every_fields_error_at_once_next_to_its_field(app, client, mailbox, sign_in):
    """An empty NetzWerkStatt form names every missing field, not only the consent; a
    bad number of places says what is allowed; what was typed stays."""
    meeting_id = workshop(app, capacity=5, childcare=2)
    empty = register(client, meeting_id, "", name="", consent=None, children="zwei")
    assert empty.status_code == 400
    assert set(field_errors(empty.text)) == {"name", "email", "children", "consent"}
    assert 'value="zwei"' in empty.text

    sign_in("orga@example.org")
    page = f"/organisation/netzwerkstatt/{meeting_id}"
    bad = client.post(page, data={"csrf_token": csrf_token(client.get(page).text),
                                  "capacity": "-5", "childcare_capacity": "viele"})
    errors = field_errors(bad.text)
    assert "mindestens 1 und höchstens 10.000" in errors["capacity"]
    assert "ganze Zahl" in errors["childcare_capacity"]
    assert 'value="-5"' in bad.text and 'value="viele"' in bad.text

    venue = client.post("/organisation/orte", data={
        "csrf_token": csrf_token(client.get("/organisation/orte").text), "name": "Saal",
        "address": "", "district": "", "capacity": "zwanzig"})
    assert venue.status_code == 400
    assert set(field_errors(venue.text)) == {"address", "district", "capacity"}
    assert 'value="Saal"' in venue.text and 'value="zwanzig"' in venue.text

    meeting = client.post("/organisation/treffen/neu", data={
        "csrf_token": csrf_token(client.get("/organisation/treffen/neu").text),
        "start": "", "end": "", "district": "", "topic": "Thema bleibt"})
    assert meeting.status_code == 400
    assert {"start", "end", "district"} <= set(field_errors(meeting.text))
    assert 'value="Thema bleibt"' in meeting.text


def test_declining_in_the_calendar_app_releases_the_place(app, client, runner, mailbox):
    """The place's meeting request carries the registrant's own reply address; a
    decline sent there by their calendar app cancels like the status page does, and
    the next in line gets the offer. The same decline to the public address is kept."""
    import icalendar

    from tests.inbound import samples

    meeting_id = workshop(app, capacity=1)
    registered_and_confirmed(client, mailbox, meeting_id, "anna@example.org", name="Anna")
    registered_and_confirmed(client, mailbox, meeting_id, "ben@example.org", name="Ben")
    place = mailbox.to("anna@example.org")[-1]
    request = next(part for part in place.walk() if part.get_content_type() == "text/calendar")
    event = icalendar.Calendar.from_ical(request.get_payload(decode=True)).walk("VEVENT")[0]
    organizer = str(event["organizer"]).removeprefix("mailto:")
    assert organizer.startswith("einladung+")
    uid, sequence = str(event["uid"]), int(event["sequence"])

    forged = runner.invoke(args=["inbound"], input=samples.gmail(
        uid, sequence, "anna@example.org", "einladung@vernetzer.example", partstat="DECLINED"))
    assert forged.output.startswith("kept"), forged.output
    assert people(app, meeting_id)["anna@example.org"] == "registered"

    declined = runner.invoke(args=["inbound"], input=samples.gmail(
        uid, sequence, "anna@example.org", organizer, partstat="DECLINED"))
    assert declined.output.startswith("handled"), declined.output
    assert people(app, meeting_id) == {"anna@example.org": "cancelled",
                                       "ben@example.org": "offered"}
    assert mailbox.to("ben@example.org")[-1]["Subject"] == \
        "Ein Platz bei der NetzWerkStatt ist für Sie frei"
