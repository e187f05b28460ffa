"""Members write to the list: a post arrives by mail (``flask inbound``) or on the web,
waits for an organiser unless its author is trusted, and reaches the members at a
real SMTP server, each as they chose (as it comes, in a digest, or not at all)."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr

import pytest
import sqlalchemy as sa

import jobs
from app.extensions import db
from app.inbound.models import InboundMail
from app.posts import services as posts
from app.posts.models import Post, PostStatus
from app.subscriptions.models import PostDelivery
from tests.conftest import (
    announced_meeting,
    csrf_token,
    member,
    organiser,
    path_of,
    worker_sends,
)

POST_ADDRESS = "vernetzer@localhost"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def mail(sender="anna@example.org", subject="Repair Café sucht Räume", *, text=None,
         html=None, attachments=(), **headers) -> bytes:
    message = EmailMessage()
    message["From"] = f"Anna Müller <{sender}>"
    message["To"] = POST_ADDRESS
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash((sender, subject, str(headers))))}@example.org>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text or "Liebe Leute,\nunser Repair Café in Vaihingen sucht Räume.\n")
    if html:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def members(app, *emails, delivery=PostDelivery.EACH):
    with app.app_context():
        for email in emails:
            member(email, name=email.split("@")[0].title(), post_delivery=delivery)


def held_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Post.id).where(Post.status == PostStatus.HELD)))


def inbound(runner, raw: bytes) -> str:
    result = runner.invoke(args=["inbound"], input=raw)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_members_post_by_mail_is_held_approved_and_reaches_everyone_once(
        app, runner, mailbox):
    organiser(runner)
    members(app, "anna@example.org", "ben@example.org", "cem@example.org")
    output = inbound(runner, mail(attachments=[("Flyer.pdf", "application/pdf", PDF)]))
    assert "wartet auf das Orga-Team" in output
    worker_sends(app)
    [notice] = mailbox.to("orga@example.org")  # the organiser hears of it, with a link
    assert "Repair Café sucht Räume" in notice["Subject"]
    assert "/organisation/beitraege/" in notice.get_body(("plain",)).get_content()
    assert mailbox.to("ben@example.org") == []  # nothing before the approval

    [post_id] = held_ids(app)
    listed = runner.invoke(args=["posts", "list"])
    assert f"{post_id}\tanna@example.org\tRepair Café sucht Räume\t0 d" in listed.output
    approved = runner.invoke(args=["posts", "approve", str(post_id)])
    assert approved.exit_code == 0 and "goes to 3 members" in approved.output
    worker_sends(app)

    for address in ("anna@example.org", "ben@example.org", "cem@example.org"):
        [received] = [m for m in mailbox.to(address) if "Repair" in m["Subject"]]
        assert received["Subject"] == "Repair Café sucht Räume"
    [copy] = mailbox.to("ben@example.org")
    display, address = parseaddr(copy["From"])
    assert (display, address) == ("Anna über Stadtteilvernetzer Stuttgart",
                                  "vernetzer@localhost")
    assert parseaddr(copy["Reply-To"])[1] == "anna@example.org"
    assert copy["List-Id"] and copy["List-Unsubscribe"] and copy["List-Post"] == \
        f"<mailto:{POST_ADDRESS}>"
    assert copy["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert copy["Precedence"] == "list"
    assert "unser Repair Café in Vaihingen sucht Räume" in copy.get_body(("plain",)).get_content()
    [attachment] = list(copy.iter_attachments())
    assert attachment.get_filename() == "Flyer.pdf" and attachment.get_content() == PDF

    again = runner.invoke(args=["posts", "approve", str(post_id)])
    assert again.exit_code == 1 and "schon entschieden" in again.output
    worker_sends(app)
    assert len(mailbox.to("ben@example.org")) == 1  # a second approval sends nothing


def test_a_strangers_post_is_held_never_answered_and_gone_after_the_hold_days(
        app, runner, mailbox):
    organiser(runner)
    assert "nicht im Verteiler ist" in inbound(runner, mail("fremd@example.net", "Kaufen Sie!"))
    worker_sends(app)
    assert mailbox.to("fremd@example.net") == []  # no backscatter
    assert len(mailbox.to("orga@example.org")) == 1
    with app.app_context():
        assert posts.purge_held() == 0
        assert posts.purge_held(now=datetime.now(UTC) + timedelta(days=15)) == 1
        db.session.commit()
    assert held_ids(app) == []


def test_our_own_list_mail_and_auto_replies_are_never_posts(app, runner, mailbox):
    members(app, "anna@example.org")
    looped = inbound(runner, mail(subject="Einladung", List_Id=app.config["MAIL_LIST_ID"]))
    assert "verworfen" in looped
    away = inbound(runner, mail(subject="Re: Repair Café", Auto_Submitted="auto-replied"))
    assert "Automatische Antwort" in away
    assert held_ids(app) == []
    with app.app_context():
        kinds = [kind.value for kind in db.session.scalars(sa.select(InboundMail.kind))]
    assert kinds == ["loop", "auto_reply"]


def test_approve_and_trust_lets_the_next_post_go_at_once(app, runner, mailbox):
    members(app, "anna@example.org", "ben@example.org")
    inbound(runner, mail(subject="Erster Beitrag"))
    [first] = held_ids(app)
    assert runner.invoke(args=["posts", "approve", str(first), "--trust"]).exit_code == 0
    assert "an den Verteiler gesendet" in inbound(runner, mail(subject="Zweiter Beitrag"))
    assert held_ids(app) == []
    worker_sends(app)
    assert sorted(m["Subject"] for m in mailbox.to("ben@example.org")) == [
        "Erster Beitrag", "Zweiter Beitrag"]


def test_digest_readers_get_one_digest_and_no_posts_readers_nothing_but_meetings(
        app, runner, mailbox):
    app.config.update(POST_DIGEST_WEEKDAY=0, POST_DIGEST_HOUR=8)
    members(app, "anna@example.org")
    members(app, "woche@example.org", delivery=PostDelivery.WEEKLY)
    members(app, "ohne@example.org", delivery=PostDelivery.NONE)
    monday = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # 8:00 in Stuttgart
    with app.app_context():
        # The first digest time, with nothing in it: no mail, and the digests start here.
        assert posts.queue_digests(now=monday - timedelta(days=7)) == 0
        db.session.commit()
    for subject in ("Tauschring sucht Partner", "Lesepaten gesucht"):
        inbound(runner, mail(subject=subject))
        runner.invoke(args=["posts", "approve", str(held_ids(app)[0])])
    with app.app_context():
        db.session.execute(sa.update(Post).values(decided_at=monday - timedelta(days=2)))
        db.session.commit()
        assert posts.queue_digests(now=monday - timedelta(hours=1)) == 0  # not yet
        assert posts.queue_digests(now=monday) == 1
        assert posts.queue_digests(now=monday + timedelta(hours=1)) == 0  # once
        db.session.commit()
    with app.test_request_context():
        announced_meeting("Mitte", topic="Nachbarschaft")
        jobs.delivery.queue_meeting_mails()
        db.session.commit()
    worker_sends(app)
    subjects = {address: sorted(m["Subject"] for m in mailbox.to(address))
                for address in ("anna@example.org", "woche@example.org", "ohne@example.org")}
    assert subjects["anna@example.org"][1:] == ["Lesepaten gesucht", "Tauschring sucht Partner"]
    assert [s for s in subjects["woche@example.org"] if not s.startswith("Einladung")] == [
        "Beiträge an den Verteiler"]
    assert [s for s in subjects["ohne@example.org"] if not s.startswith("Einladung")] == []
    assert all(any(s.startswith("Einladung") for s in found) for found in subjects.values())
    [digest] = [m for m in mailbox.to("woche@example.org") if m["Subject"].startswith("Beitr")]
    text = digest.get_body(("plain",)).get_content()
    assert "Tauschring sucht Partner" in text and "Lesepaten gesucht" in text
    assert "/beitraege/" in text


def test_hostile_mail_arrives_safe_or_not_at_all(app, runner, mailbox):
    members(app, "anna@example.org", "ben@example.org")
    hostile = mail(
        subject="Harmlos",
        html='<p onclick="x()">Hallo<script>alert(1)</script><img src="https://track.example/p.gif">'
             '<a href="javascript:alert(2)">klick</a> <a href="https://ok.example/">ok</a></p>',
        attachments=[("virus.exe", "application/octet-stream", b"MZ\x90\x00"),
                     ("fake.pdf", "application/pdf", b"MZ\x90\x00 not a pdf")])
    # A subject whose encoded word hides a line break and a Bcc, then 2,000 emoji.
    subject = b"=?utf-8?q?Gef=C3=A4hrlich=0D=0ABcc:_alle@example.org?= " + "😀".encode() * 2000
    hostile = hostile.replace(b"Subject: Harmlos", b"Subject: " + subject)
    inbound(runner, hostile)
    [post_id] = held_ids(app)
    runner.invoke(args=["posts", "approve", str(post_id)])
    worker_sends(app)
    [copy] = mailbox.to("ben@example.org")
    assert "Bcc" not in copy and len(copy["Subject"]) <= 200
    html = copy.get_body(("html",)).get_content()
    assert "<script" not in html and "onclick" not in html and "track.example" not in html
    assert "javascript:" not in html and 'href="https://ok.example/"' in html
    assert list(copy.iter_attachments()) == []
    text = copy.get_body(("plain",)).get_content()
    assert "virus.exe" in text and "fake.pdf" in text  # the post says what was taken off


def test_the_form_refuses_bad_attachments_in_german_and_stores_nothing(app, client, mailbox):
    members(app, "anna@example.org")
    with app.test_request_context():
        from app.posts import links
        from app.subscriptions import services as subscriptions
        url = f"/beitrag/{links.write_token(subscriptions.find_by_email('anna@example.org'))}"
    page = client.get(url)
    assert page.status_code == 200
    answer = client.post(url, data={
        "csrf_token": csrf_token(page.text), "subject": "Hallo\r\nBcc: x@example.org",
        "text": "", "attachments": [(__import__("io").BytesIO(b"MZ"), "tool.exe")]},
        content_type="multipart/form-data")
    assert answer.status_code == 400
    assert "Betreff darf nur eine Zeile einfacher Text sein." in answer.text
    assert "Text fehlt." in answer.text
    assert "tool.exe: Dateien dieser Art werden nicht weitergegeben" in answer.text
    assert held_ids(app) == []


def test_only_public_posts_are_in_the_archive(app, client, runner, mailbox):
    members(app, "anna@example.org", "ben@example.org")
    with app.app_context():
        from app.subscriptions import services as subscriptions
        anna = subscriptions.find_by_email("anna@example.org")
        public = posts.write(anna, subject="Offen für alle", text="Kommt **vorbei**!", files=[],
                             public=True)
        private = posts.write(anna, subject="Nur für Mitglieder", text="Intern.", files=[],
                              public=False)
        db.session.commit()
        ids = public.id, private.id
    for post_id in ids:
        runner.invoke(args=["posts", "approve", str(post_id)])
    worker_sends(app)
    archive = client.get("/beitraege").text
    assert "Offen für alle" in archive and "Nur für Mitglieder" not in archive
    assert client.get(f"/beitraege/{ids[0]}").status_code == 200
    assert client.get(f"/beitraege/{ids[1]}").status_code == 404
    [private_copy] = [m for m in mailbox.to("ben@example.org")
                      if m["Subject"] == "Nur für Mitglieder"]
    link = next(line for line in private_copy.get_body(("plain",)).get_content().splitlines()
                if "/beitraege/" in line).split()[-1]
    assert "Intern." in client.get(path_of(link)).text  # the members' signed link
    [own_copy] = [m for m in mailbox.to("anna@example.org") if m["Subject"] == "Offen für alle"]
    withdraw = path_of(next(line for line in own_copy.get_body(("plain",)).get_content()
                            .splitlines() if "zurueckziehen" in line).split()[-1])
    page = client.get(withdraw)
    client.post(withdraw, data={"csrf_token": csrf_token(page.text)})
    assert "Offen für alle" not in client.get("/beitraege").text


@pytest.mark.parametrize("reason", ["", "Bitte ohne Werbung."])
def test_a_rejected_author_is_told_why(app, runner, mailbox, reason):
    members(app, "anna@example.org")
    inbound(runner, mail())
    [post_id] = held_ids(app)
    result = runner.invoke(args=["posts", "reject", str(post_id), "--reason", reason])
    worker_sends(app)
    if not reason:
        assert result.exit_code == 1 and held_ids(app) == [post_id]
        return
    assert result.exit_code == 0
    [told] = mailbox.to("anna@example.org")
    assert "Bitte ohne Werbung." in told.get_body(("plain",)).get_content()
    assert "nicht an den Verteiler" in told["Subject"]


def test_an_erased_members_posts_stay_without_their_name_and_address(app, client, runner):
    members(app, "anna@example.org")
    with app.app_context():
        from app.subscriptions import services as subscriptions
        anna = subscriptions.find_by_email("anna@example.org")
        post = posts.write(anna, subject="Tauschring Ost", text="Wir tauschen.", files=[],
                           public=True)
        posts.approve(post, actor="test")
        db.session.commit()
        post_id = post.id
    assert "Anna" in client.get(f"/beitraege/{post_id}").text
    assert runner.invoke(args=["subscribers", "erase", "anna@example.org"]).exit_code == 0
    page = client.get(f"/beitraege/{post_id}").text
    assert "Tauschring Ost" in page and "Anna" not in page and "anna@example.org" not in page
    assert "ein Mitglied" in page


def test_a_30_mb_attachment_is_refused_with_a_reason_and_nothing_is_stored(
        app, client, runner, mailbox):
    import io

    members(app, "anna@example.org")
    big = PDF + b"0" * (30 * 1024 * 1024)
    output = inbound(runner, mail(attachments=[("Plan.pdf", "application/pdf", big)]))
    assert "Zu groß zum Lesen" in output  # kept for organisers by its headers, not a post
    with app.test_request_context():
        from app.posts import links
        from app.subscriptions import services as subscriptions
        url = f"/beitrag/{links.write_token(subscriptions.find_by_email('anna@example.org'))}"
    page = client.get(url)
    answer = client.post(url, data={
        "csrf_token": csrf_token(page.text), "subject": "Plan", "text": "Anbei der Plan.",
        "attachments": [(io.BytesIO(big), "Plan.pdf")]}, content_type="multipart/form-data")
    assert answer.status_code == 413 and "zu groß" in answer.text
    assert held_ids(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 0
