"""The project atlas: a visitor's project is public only once confirmed and approved;
its contact's address appears only once that person agreed; "übernommen in Vaihingen
2026" shows on both districts' pages and on the map; the JSON is readable anywhere."""

import re

import sqlalchemy as sa

from app.extensions import db
from app.knowledge.models import Adoption, Project
from tests.conftest import csrf_token, link_in


def propose(client, **fields):
    page = client.get("/projekte/vorschlagen")
    data = {"project-csrf_token": csrf_token(page.text, "project-csrf_token"),
            "project-name": "Repair Café", "project-district": "Mitte",
            "project-description": "Einmal im Monat reparieren Ehrenamtliche mit Nachbarn.",
            "project-phases": ["start", "netzwerk"], "project-contact_name": "Karl Kontakt",
            "project-contact_email": "karl@example.net", "project-email": "vera@example.net"}
    return client.post("/projekte/vorschlagen", data={**data, **{
        f"project-{key}": value for key, value in fields.items()}})


def press(client, link):
    page = client.get(link)
    return client.post(link, data={"csrf_token": csrf_token(page.text)})


def moderation_post(client, url):
    page = client.get("/organisation/projekte/")
    return client.post(url, data={"csrf_token": csrf_token(page.text)})


def test_a_project_from_proposal_to_a_second_district(app, client, mailbox, sign_in):
    assert propose(client).status_code == 200
    with app.app_context():
        project_id = db.session.scalar(sa.select(Project.id))
    assert client.get(f"/projekte/{project_id}").status_code == 404  # unconfirmed
    press(client, link_in(mailbox.to("vera@example.net")[0], "/projekte/bestaetigen/"))
    assert client.get(f"/projekte/{project_id}").status_code == 404  # not approved yet
    consent = link_in(mailbox.to("karl@example.net")[0], "/projekte/kontakt/")

    sign_in("orga@example.org")
    moderation_post(client, f"/organisation/projekte/projekt/{project_id}/veroeffentlichen")
    page = client.get(f"/projekte/{project_id}").text
    assert "Repair Café" in page and "über das Orga-Team" in page
    assert "karl@example.net" not in page and "karl@example.net" not in client.get(
        "/api/projekte.json").text
    press(client, consent)  # the contact agrees
    assert "karl@example.net" in client.get(f"/projekte/{project_id}").text

    form = client.get(f"/projekte/{project_id}/uebernommen")
    client.post(f"/projekte/{project_id}/uebernommen", data={
        "adoption-csrf_token": csrf_token(form.text, "adoption-csrf_token"),
        "adoption-district": "Vaihingen", "adoption-year": "2026",
        "adoption-how": "Im Bürgerhaus Rohr, jeden zweiten Samstag",
        "adoption-email": "vera@example.net"})
    press(client, link_in(mailbox.to("vera@example.net")[-1], "/projekte/bestaetigen/"))
    with app.app_context():
        adoption_id = db.session.scalar(sa.select(Adoption.id))
    assert "übernommen in Vaihingen 2026" not in client.get("/bezirke/vaihingen").text
    moderation_post(client, f"/organisation/projekte/uebernahme/{adoption_id}/veroeffentlichen")

    for district in ("mitte", "vaihingen"):
        assert "übernommen in Vaihingen 2026" in client.get(f"/bezirke/{district}").text
    atlas = client.get("/projekte").text
    assert "Repair Café: übernommen in Vaihingen 2026" in atlas  # the map's arrow
    assert re.search(r"<line [^>]*marker-end", atlas)
    api = client.get("/api/projekte.json")
    assert api.headers["Access-Control-Allow-Origin"] == "*"
    [entry] = api.get_json()["projects"]
    assert entry["@type"] == "Project" and entry["location"]["name"] == "Mitte"
    assert entry["takenUpIn"] == [{"@type": "Place", "name": "Vaihingen", "year": 2026,
                                   "description": "Im Bürgerhaus Rohr, jeden zweiten Samstag"}]
    assert client.get("/projekte?phase=netzwerk").text.count("Repair Café") >= 1
    assert "Kein Projekt passt." in client.get("/projekte?phase=inklusion").text


def test_bad_project_input_gets_german_messages_and_writes_nothing(app, client, mailbox):
    answer = propose(client, name="", district="Atlantis", description="x" * 10_000,
                     contact_name="https://spam.example", email="kein-at")
    assert answer.status_code == 400
    for message in ("Projekt fehlt.", "Bitte wählen Sie einen der Bezirke.",
                    "zu lang (höchstens 2000 Zeichen)", "keine Internetadresse",
                    "sieht nicht nach einer gültigen E-Mail-Adresse aus"):
        assert message in answer.text, message
    forged = client.get("/projekte/bestaetigen/projekt/eyJlIjoxfQ.forged.x")
    assert forged.status_code == 400
    anonymous = client.post("/organisation/projekte/projekt/1/veroeffentlichen")
    assert anonymous.status_code in (302, 400)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Project)) == 0
    assert mailbox.messages == []
