"""The list on the web for admins: add, correct, unsubscribe, erase, resend, reactivate,
import from one upload; the audit log in German; limits that never drop a person
silently."""

import sqlalchemy as sa

from app.delivery.models import OutboxMessage, OutboxStatus
from app.extensions import db
from app.shared.audit import AuditEntry
from app.subscriptions.models import ConsentEvent, Subscriber, SubscriberStatus
from tests.conftest import csrf_token, form_token, member, request_link

LIST = "/organisation/verteiler"


def post(client, url, **data):
    """A form sent with the token its page carries: the home page's public one, or
    the session's."""
    token = csrf_token(client.get(url).text) if url == "/" else form_token(client)
    return client.post(url, data={"csrf_token": token, **data})


def person(app, email):
    with app.app_context():
        found = db.session.scalar(sa.select(Subscriber).where(Subscriber.email == email))
        if found is not None:
            db.session.expunge(found)
        return found


def add(client, email, **fields):
    data = {"name": "", "organisation": "", "district": "", "consent_note": "", **fields}
    return post(client, f"{LIST}/neu", email=email, **data)


def test_admin_adds_corrects_unsubscribes_and_erases_a_person(app, client, mailbox, sign_in):
    sign_in("admin@example.org", "admin")
    refused = add(client, "telefon@example.org")
    assert refused.status_code == 400 and "Vermerk" in refused.text
    assert person(app, "telefon@example.org") is None

    added = add(client, "Telefon@Example.org", name="Tina Telefon",
                consent_note="Am 3. Mai telefonisch gefragt")
    assert added.status_code == 302
    tina = person(app, "telefon@example.org")
    assert tina.status == SubscriberStatus.ACTIVE
    with app.app_context():
        [event] = db.session.scalars(sa.select(ConsentEvent).where(
            ConsentEvent.subscriber_id == tina.id)).all()
        assert event.note == "Am 3. Mai telefonisch gefragt" and event.source == "organiser"
    assert add(client, "telefon@example.org", consent_note="x").status_code == 400

    page = f"{LIST}/{tina.id}"
    assert "Am 3. Mai telefonisch gefragt" in client.get(page).text
    post(client, page, name="Tina Telefon-Muster", organisation="Stadtteilhaus",
         district="Ost")
    corrected = person(app, "telefon@example.org")
    assert (corrected.name, corrected.organisation, corrected.district) == (
        "Tina Telefon-Muster", "Stadtteilhaus", "Ost")
    bad = post(client, page, name="x", organisation="", district="Atlantis")
    assert person(app, "telefon@example.org").district == "Ost"
    assert bad.status_code == 302

    post(client, f"{page}/abmelden")
    assert person(app, "telefon@example.org").status == SubscriberStatus.UNSUBSCRIBED
    post(client, f"{page}/loeschen")  # without the tick: nothing happens
    assert person(app, "telefon@example.org") is not None
    post(client, f"{page}/loeschen", confirm="y")
    assert person(app, "telefon@example.org") is None
    assert client.get(page).status_code == 400  # "nicht (mehr) im Verteiler"
    assert client.post(f"{LIST}/{tina.id}/unbekannt").status_code in (400, 404)


def test_confirmation_resend_and_bounced_reactivation(app, client, mailbox, sign_in):
    sign_in("admin@example.org", "admin")
    add(client, "wartet@example.org", confirm_by_mail="y")
    pending = person(app, "wartet@example.org")
    assert pending.status == SubscriberStatus.PENDING
    assert len(mailbox.to("wartet@example.org")) == 1
    post(client, f"{LIST}/{pending.id}/bestaetigung")
    assert len(mailbox.to("wartet@example.org")) == 2

    with app.app_context():
        bounced = member("voll@example.org", status=SubscriberStatus.BOUNCED, hard_bounces=3)
        db.session.add(OutboxMessage(key="x", kind="invitation", subscriber_id=bounced.id,
                                     code="m", recipient="voll@example.org", message=b"",
                                     status=OutboxStatus.FAILED,
                                     last_error="552 5.2.2 Mailbox full"))
        db.session.commit()
        bounced_id = bounced.id
    listing = client.get(f"{LIST}?status=bounced").text
    assert "voll@example.org" in listing and "552 5.2.2 Mailbox full" in listing
    assert "552 5.2.2 Mailbox full" in client.get(f"{LIST}/{bounced_id}").text
    post(client, f"{LIST}/{bounced_id}/reaktivieren")
    again = person(app, "voll@example.org")
    assert again.status == SubscriberStatus.ACTIVE and again.hard_bounces == 0


def test_import_checks_once_and_applies_without_a_second_upload(app, client, mailbox, sign_in):
    import io

    sign_in("admin@example.org", "admin")
    csv = b"email;name\nneu@example.org;Neu\nkaputt;X\n"
    checked = client.post(f"{LIST}/import", data={
        "csrf_token": csrf_token(client.get(LIST).text),
        "file": (io.BytesIO(csv), "liste.csv")}, content_type="multipart/form-data")
    assert checked.status_code == 200 and "Neu: 1" in checked.text.replace("Neu: 1,", "Neu: 1")
    assert person(app, "neu@example.org") is None
    pending = csrf_pending(checked.text)
    refused = post(client, f"{LIST}/import/anwenden", pending=pending, consent_note="")
    assert refused.status_code == 400 and "Vermerk" in refused.text
    applied = post(client, f"{LIST}/import/anwenden", pending=pending,
                   consent_note="Liste vom Netzwerktreffen 2025")
    assert applied.status_code == 302
    assert person(app, "neu@example.org").status == SubscriberStatus.ACTIVE
    # The kept upload is gone once imported.
    gone = post(client, f"{LIST}/import/anwenden", pending=pending, consent_note="x")
    assert gone.status_code == 302
    assert "nicht mehr vor" in client.get(LIST).text


def csrf_pending(html):
    import re

    return re.search(r'name="pending" type="hidden" value="(\d+)"', html).group(1)


def test_the_audit_log_reads_in_german_filters_and_pages(app, client, runner, mailbox,
                                                         sign_in):
    sign_in("admin@example.org", "admin")
    for number in range(55):
        add(client, f"person{number}@example.org", consent_note="Liste")
    runner.invoke(args=["meetings", "create", "--district", "Ost", "--start",
                        "2040-03-06 18:00", "--end", "2040-03-06 20:00"])
    log = client.get("/organisation/protokoll").text
    assert "Person hinzugefügt" in log and "Vermerk: Liste" in log
    assert "subscriber.add" not in log and "{" not in log.split("<main")[1]
    assert "Seite 1 von 2" in log and "Ältere Einträge" in log
    second = client.get("/organisation/protokoll?seite=2").text
    assert "Angemeldet" in second and "Neuere Einträge" in second
    meetings_only = client.get("/organisation/protokoll?area=meeting").text
    assert "Treffen angelegt" in meetings_only and "Person hinzugefügt" not in meetings_only
    assert "Kommandozeile" in meetings_only and "Stadtbezirk: Ost" in meetings_only
    found = client.get("/organisation/protokoll?text=ost").text
    assert "1 Eintrag</p>" in found and "Treffen angelegt" in found
    assert client.get("/organisation/protokoll?seite=x").status_code == 200
    refused = client.get("/organisation/protokoll?area=%00")
    assert refused.status_code == 400 and "nicht erlaubt" in refused.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) >= 57


def test_an_organiser_signs_in_after_ten_signups_of_their_own_address(app, client, runner,
                                                                      mailbox):
    assert runner.invoke(args=["organisers", "add", "orga@example.org"]).exit_code == 0
    answers = [post(client, "/", email="orga@example.org", name="").text for _ in range(10)]
    # The limit held the later confirmations back; the page says so neutrally.
    assert "eine Weile dauern" not in answers[0].split("<main")[1]
    assert "eine Weile dauern" in answers[-1] and "vernetzer@localhost" in answers[-1]
    confirmations = len(mailbox.to("orga@example.org"))
    assert confirmations == 3
    request_link(client, "orga@example.org")
    [signin] = mailbox.to("orga@example.org")[confirmations:]
    assert signin["Subject"] == "Ihr Anmeldelink für vernetzer"



def test_the_list_comes_a_hundred_to_a_page_with_the_search_kept(app, client, sign_in):
    import re

    with app.app_context():
        db.session.execute(sa.insert(Subscriber), [
            {"email": f"p{n:03d}@example.org", "name": f"Person {n}", "language": "de",
             "status": "active", "source": "import", "hard_bounces": 0} for n in range(250)]
            + [{"email": "anders@example.org", "name": "Anders", "language": "de",
                "status": "active", "source": "import", "hard_bounces": 0}])
        db.session.commit()
    sign_in("admin@example.org", "admin")

    def shown(url):
        page = client.get(url).text
        return re.findall(r">(p\d{3})@example.org<", page), page

    first, page = shown(f"{LIST}?q=person")
    assert first == [f"p{n:03d}" for n in range(100)]
    assert "Seite 1 von 3" in page and "Vorherige Seite" not in page
    assert re.search(r'href="[^"]*seite=2[^"]*q=person|href="[^"]*q=person[^"]*seite=2', page)
    last, page = shown(f"{LIST}?q=person&seite=3")
    assert last == [f"p{n:03d}" for n in range(200, 250)]
    assert "Nächste Seite" not in page and "Vorherige Seite" in page
    nothing, page = shown(f"{LIST}?q=person&seite=99999999")
    assert nothing[:1] == ["p000"]  # an impossible page number shows the first
    beyond, page = shown(f"{LIST}?q=person&seite=5")
    assert beyond == [] and "Seite 5 von 3" in page and "Vorherige Seite" in page
    everyone, page = shown(LIST)  # 251 members, anders@ first
    assert everyone == [f"p{n:03d}" for n in range(99)] and "Seite 1 von 3" in page
