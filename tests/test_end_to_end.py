"""The whole service as README's first command runs it (web server, worker, mail
catcher on SQLite), driven by a real browser: subscribe, read the mail in the
catcher, confirm, unsubscribe; an organiser on a phone; visitors; a member's post."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import free_port, output_of, start_flask, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def browser_binaries():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("VERNETZER_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are required here but not installed")
        pytest.skip("browser tests need chromium and chromedriver (Debian: apt-get install "
                    "chromium chromium-driver)")
    return chromium, driver


@pytest.fixture
def service(tmp_path):
    """``flask serve`` in its own process, on a fresh SQLite database: its address
    (``url``) and environment (``env``, for command-line calls on the same database)."""
    port, smtp_port = free_port(), free_port()
    # The network's blog listens before the service starts, so no other process can
    # take its port in between; the test writes its page.
    blog = serve_page(tmp_path / "blog", "")
    blog_port = blog.server_address[1]
    env = {
        **os.environ,
        "FLASK_SECRET_KEY": "end-to-end",
        "FLASK_MAIL_CATCHER": "true",
        "FLASK_MAIL_PORT": str(smtp_port),
        "FLASK_MAIL_CATCHER_DIR": str(tmp_path / "mails"),
        "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'vernetzer.sqlite3'}",
        "FLASK_BASE_URL": f"http://127.0.0.1:{port}",
        # The network's blog, which may show the widget (``blog_port``).
        "FLASK_WIDGET_FRAME_ANCESTORS": f"http://127.0.0.1:{blog_port}",
    }
    process = start_flask(env, "serve", "--port", str(port))
    try:
        if not wait_for_port(port, process, 60):
            process.kill()
            pytest.fail("service did not start:\n" + output_of(process))
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", env=env, blog=blog)
    finally:
        blog.shutdown()
        blog.server_close()
    process.terminate()
    output = output_of(process, 30)
    assert process.returncode == 0, output  # web server, worker and catcher stopped cleanly


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = browser_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--lang=de-DE", "--window-size=420,900"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "de-DE,de"})
    driver_ = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    driver_.implicitly_wait(5)
    yield driver_
    driver_.quit()


def wait_for_mail(browser, service, subject, to=None):
    """The newest mail with ``subject`` in the catcher (to ``to``, where given)."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        browser.get(service.url + "/_mails/")
        # One look for the page (a row by row look took longer than the deadline).
        links = (browser.find_elements(By.LINK_TEXT, subject) if to is None else
                 browser.find_elements(By.XPATH, f'//tbody/tr[contains(td[1], "{to}")]'
                                                 f'/td/a[normalize-space(.)="{subject}"]'))
        if links:
            return links[0]
        time.sleep(0.5)
    pytest.fail(f"no mail {subject!r} in the catcher")


def open_link_in_mail(browser, service, subject, link_part, to=None):
    """Find the mail in the catcher, open its link, press the page's button."""
    from selenium.webdriver.common.by import By

    go(browser, wait_for_mail(browser, service, subject, to))
    browser.get(browser.find_element(By.PARTIAL_LINK_TEXT, link_part).get_attribute("href"))
    go(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]"))


def go(browser, element):
    """Follow a link or press a button from the keyboard (Enter), as a person tabbing
    through the page does, and wait until the browser has left the page. (Pointer
    clicks on a page with a sandboxed frame, the announcement's preview, are
    sometimes lost in Chromium 156 at phone size.)"""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    # A mark on the old document's window: it is gone once the next page has
    # loaded. (Waiting for an element to go stale races with Chromium, which
    # may answer with an inspector error instead of a stale reference.)
    browser.execute_script("window.vernetzerOldPage = true;")
    element.send_keys(Keys.ENTER)
    WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script(
            "return document.readyState === 'complete' && !window.vernetzerOldPage;"))


def tick(browser, element_id):
    """Tick a checkbox from the keyboard (space), as ``go`` presses buttons, and wait
    until the page shows it ticked."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    box = browser.find_element(By.ID, element_id)
    box.send_keys(Keys.SPACE)
    WebDriverWait(browser, 5).until(lambda driver: box.is_selected())


def heading_becomes(browser, text):
    """Wait for the page after a click, instead of reading the old one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 15).until(
        expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "h1"), text))


def test_subscribe_confirm_unsubscribe_in_a_browser(service, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(service.url + "/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "de"
    browser.find_element(By.ID, "email").send_keys("browser@example.org")
    browser.find_element(By.ID, "name").send_keys("Bea Browser")
    go(browser, browser.find_element(By.ID, "submit"))
    heading_becomes(browser, "Bitte schauen Sie in Ihr E-Mail-Postfach")

    open_link_in_mail(browser, service, "Bitte bestätigen Sie Ihre Anmeldung", "/bestaetigen/")
    heading_becomes(browser, "Willkommen!")
    browser.save_screenshot(str(tmp_path / "welcome.png"))

    open_link_in_mail(browser, service, "Willkommen im Verteiler der Stadtteilvernetzer",
                      "/abmelden/")
    heading_becomes(browser, "Sie sind abgemeldet")


def test_serve_says_clearly_when_its_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "FLASK_SECRET_KEY": "x", "FLASK_MAIL_CATCHER": "true",
               "FLASK_MAIL_PORT": str(port), "FLASK_MAIL_CATCHER_DIR": str(tmp_path / "mails"),
               "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
        for args, message in ((["--port", str(port)], f"cannot listen on 127.0.0.1:{port}"),
                              (["--port", str(free_port())], "the mail catcher cannot listen")):
            result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "serve",
                                     "--no-worker", *args], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 1
            assert message in result.stderr and "Traceback" not in result.stderr


def recipients_in_catcher(service) -> list[str]:
    """The envelope recipients of every mail the service's catcher received."""
    import mailbox

    box = mailbox.Maildir(service.env["FLASK_MAIL_CATCHER_DIR"], create=True)
    return [message["X-RcptTo"] for message in box]


def test_organiser_plans_the_year_and_withdraws_an_announcement_on_a_phone(service, browser):
    """Issue: an organiser on a phone plans the year, turns the first proposal into a
    meeting with venue and host, writes an announcement, previews it, sends a test to
    themselves, schedules it and withdraws it; nothing reaches the member."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    cli = [sys.executable, "-m", "flask", "--app", "app"]
    for args in (["organisers", "add", "anna@example.org", "--role", "admin"],):
        added = subprocess.run([*cli, *args], cwd=ROOT, env=service.env, capture_output=True,
                               text=True)
        assert added.returncode == 0, added.stderr
    browser.set_window_size(390, 844)  # a phone
    browser.get(service.url + "/organisation/")  # not signed in: to the sign-in page
    heading_becomes(browser, "Anmeldung für das Orga-Team")
    browser.find_element(By.ID, "email").send_keys("anna@example.org")
    go(browser, browser.find_element(By.ID, "submit"))
    heading_becomes(browser, "Bitte schauen Sie in Ihr E-Mail-Postfach")
    open_link_in_mail(browser, service, "Ihr Anmeldelink für vernetzer", "/organisation/anmelden/")
    heading_becomes(browser, "Treffen")

    # A member of the list, who must get nothing of all this.
    browser.get(service.url + "/organisation/verteiler/neu")
    browser.find_element(By.ID, "email").send_keys("mitglied@example.org")
    browser.find_element(By.ID, "consent_note").send_keys("Beim Treffen eingetragen")
    go(browser, browser.find_element(By.ID, "submit"))
    assert "wurde aufgenommen" in browser.find_element(By.TAG_NAME, "main").text

    # The year's plan, with its reasons, accepted as drafts.
    browser.get(service.url + "/organisation/")
    go(browser, browser.find_element(By.LINK_TEXT, "Jahresplanung"))
    heading_becomes(browser, "Jahresplanung")
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "Quartal 1" in main and "noch nie besucht" in main
    go(browser, browser.find_element(By.ID, "submit"))
    assert "als Entwürfe gespeichert" in browser.find_element(By.TAG_NAME, "main").text
    go(browser, browser.find_elements(By.CSS_SELECTOR, "ol.plan a")[0])
    district = Select(browser.find_element(By.ID, "district")).first_selected_option.text

    # A venue in that district, then the first meeting gets venue, host and topic.
    meeting_url = browser.current_url
    browser.get(service.url + "/organisation/orte")
    browser.find_element(By.ID, "name").send_keys("Stadtteilhaus")
    browser.find_element(By.ID, "address").send_keys("Hauptstraße 1")
    Select(browser.find_element(By.ID, "district")).select_by_visible_text(district)
    go(browser, browser.find_element(By.ID, "submit"))
    browser.get(meeting_url)
    Select(browser.find_element(By.ID, "venue_id")).select_by_visible_text(
        f"Stadtteilhaus ({district})")
    browser.find_element(By.ID, "host_organisation").send_keys("Stadtteilhaus e. V.")
    browser.find_element(By.ID, "host_contact").send_keys("Frau Beispiel")
    browser.find_element(By.ID, "topic").send_keys("Nachbarschaftshilfe")
    go(browser, browser.find_element(By.ID, "submit"))
    assert "gespeichert" in browser.find_element(By.TAG_NAME, "main").text

    # The announcement: written, previewed (the mail in a sandboxed frame), tested.
    go(browser, browser.find_element(By.LINK_TEXT, "Themen-Ankündigung schreiben"))
    browser.find_element(By.ID, "subject").send_keys("Thema: Nachbarschaftshilfe")
    browser.find_element(By.ID, "body").send_keys(
        "Liebe Leute, **kommt** vorbei!" + "\n\nWir sprechen über Nachbarschaftshilfe im "
        "Stadtteil, was gut läuft und was nicht, und wer wen unterstützen kann." * 8)
    tomorrow = time.strftime("%Y-%m-%dT10:00", time.localtime(time.time() + 86400))
    browser.execute_script("arguments[0].value = arguments[1]",
                           browser.find_element(By.ID, "send_at"), tomorrow)
    go(browser, browser.find_element(By.ID, "submit"))
    heading_becomes(browser, "Vorschau")
    frame = browser.find_element(By.CSS_SELECTOR, "iframe.mail-preview")
    assert frame.get_attribute("sandbox") == "allow-same-origin"  # nothing in it runs
    browser.switch_to.frame(frame)
    assert "kommt" in browser.find_element(By.TAG_NAME, "strong").text
    # The whole mail is in view, its footer (the unsubscribe link) too.
    wait_until(browser, lambda: browser.execute_script(
        "return document.documentElement.scrollHeight <= window.innerHeight"))
    assert "Abmelden" in browser.find_element(By.TAG_NAME, "body").text
    browser.switch_to.default_content()
    assert "an 1 Person" in browser.find_element(By.TAG_NAME, "main").text
    preview_url = browser.current_url
    go(browser, browser.find_element(By.XPATH, "//button[text()='Test an mich senden']"))
    assert "Ein Test wurde an anna@example.org gesendet" in browser.find_element(
        By.TAG_NAME, "main").text
    wait_for_mail(browser, service, "[Test] Thema: Nachbarschaftshilfe")

    # Confirmed (announcing the meeting with it), listed, then withdrawn.
    browser.get(preview_url)
    tick(browser, "announce_meeting")
    go(browser, browser.find_element(By.ID, "submit"))
    heading_becomes(browser, "Themen-Ankündigungen")
    assert "eingeplant" in browser.find_element(By.TAG_NAME, "main").text
    go(browser, browser.find_element(By.XPATH, "//button[text()='Zurückziehen']"))
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "zurückgezogen" in main and "Keine Ankündigung wartet" in main
    # The pages fit the phone: nothing wider than the screen but scrollable tables.
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    recipients = recipients_in_catcher(service)
    assert "anna@example.org" in recipients and "mitglied@example.org" not in recipients


# What the public-site test starts from: a meeting held last year with its record, an
# announced one ahead, a full NetzWerkStatt, a member of the list, an admin.
PUBLIC_SITE = """
import json
from datetime import timedelta
from app import create_app
from app.extensions import db
from app.meetings import services as meetings, venues
from app.registrations import services as registrations
from app.organisers import services as organisers
from app.shared.database import utcnow
from app.shared.tokens import make_token
from app.subscriptions import services as subscriptions

app = create_app()
with app.app_context():
    now = utcnow().replace(second=0, microsecond=0)
    venue = venues.add_venue(actor="setup", name="Bürgerhaus West", address="Bebelstraße 22",
                             district="West", step_free=True, transit_stop="Schwab-/Bebelstraße",
                             accessibility_notes="Barrierefreies WC im Erdgeschoss")
    past = meetings.create(actor="setup", start=now - timedelta(days=200),
                           end=now - timedelta(days=200) + timedelta(hours=2), district="West",
                           venue_id=venue.id, topic="Reparieren statt wegwerfen",
                           now=now - timedelta(days=300))
    meetings.announce(past, actor="setup", now=now - timedelta(days=300))
    meetings.mark_held()
    meetings.write_record(past, "Das **Reparatur-Café** im Bürgerhaus West läuft seit 2019: "
                          "Kontakt über [die Website](https://example.org/repair).", actor="setup")
    ahead = meetings.create(actor="setup", start=now + timedelta(days=20),
                            end=now + timedelta(days=20, hours=2), district="West",
                            venue_id=venue.id, topic="Nachbarschaftshilfe")
    meetings.announce(ahead, actor="setup")
    workshop = meetings.create(actor="setup", start=now + timedelta(days=60),
                               end=now + timedelta(days=60, hours=6), district="West",
                               venue_id=venue.id, topic="NetzWerkStatt 2027", kind="workshop")
    meetings.announce(workshop, actor="setup")
    registrations.configure(workshop, actor="setup", open_=True, capacity=1,
                            childcare_capacity=5)
    for email in ("voll@example.org", "besucher@example.org"):
        subscriptions.add_person(email, actor="setup", consent_note="Beim Treffen eingetragen")
    registrations.register(workshop, email="voll@example.org", name="Vera Voll", consent=True)
    registration = registrations.lists(workshop)["unconfirmed"][0]
    registrations.confirm(make_token("registration-confirm", {"r": registration.id,
                                                              "n": registration.nonce}))
    organisers.add("orga@example.org", role="admin", actor="setup")
    db.session.commit()
    print(json.dumps({"past": past.id, "ahead": ahead.id, "workshop": workshop.id}))
"""

BLOG = """<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Blog</title></head>
<body><main><h1>Blog der Stadtteilvernetzer</h1>
<aside style="width:280px">{snippet}</aside>
<p id="out">…</p>
<script>fetch("{api}").then(r => r.json()).then(d => {{
  document.getElementById("out").textContent = "Treffen: " + d.events.length; }});</script>
</main></body></html>"""


def serve_page(directory: Path, html: str):
    """``html`` served from a free port of its own (another origin) as ``index.html``,
    read from ``directory`` on each request; returns the server."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "index.html").write_text(html, encoding="utf-8")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


SCREENSHOTS = ROOT / "build" / "screenshots"  # CI keeps this folder as its artifacts
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"


# Each radio button (and checkbox) sits on its label's line, just before it, and in
# no bulleted list: the central "Ich komme" form on a phone.
RADIOS_APART = """
return [...document.querySelectorAll('input[type=radio], input[type=checkbox]')]
  .filter(input => input.offsetParent !== null)
  .map(input => {
    const label = document.querySelector(`label[for="${input.id}"]`);
    if (!label) return `${input.name}=${input.value} has no label`;
    // A long label wraps: its first line is the one beside the box.
    const box = input.getBoundingClientRect(), text = label.getClientRects()[0];
    const apart = Math.abs((box.top + box.bottom) / 2 - (text.top + text.bottom) / 2) > 12
      || box.width > 40 || text.left - box.right > 24 || text.left < box.right - 1;
    const bulleted = input.closest('li') &&
      getComputedStyle(input.closest('li')).listStyleType !== 'none';
    return apart ? `${input.name}=${input.value} away from its label`
      : bulleted ? `${input.name}=${input.value} in a bulleted list` : null;
  }).filter(Boolean);
"""


def axe_violations(browser) -> list[str]:
    """Serious and critical accessibility violations axe-core finds on the open page."""
    if not AXE.is_file():
        if os.environ.get("VERNETZER_REQUIRE_TOOLS"):
            pytest.fail("axe-core is required here: npm ci --prefix tests/js")
        pytest.skip("the accessibility audit needs axe-core: npm ci --prefix tests/js")
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    violations = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations));")
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in violations if v["impact"] in ("serious", "critical")]


def test_visitors_find_answer_and_register_and_the_waiting_list_moves(service, browser,
                                                                      tmp_path):
    """Issue: a visitor finds a past meeting by a word of its record and answers "Ich
    komme" for the next one; another registers for the full NetzWerkStatt, waits, the
    registered person cancels, the first waiting accepts the offer from the mail, and
    the organiser's list shows it. Then screenshots, axe-core on every page at both
    widths, and the widget on the blog's origin (framed) and on another (refused)."""
    import json

    from selenium.webdriver.common.by import By

    setup = subprocess.run([sys.executable, "-c", PUBLIC_SITE], cwd=ROOT, env=service.env,
                           capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr
    ids = json.loads(setup.stdout.strip().splitlines()[-1])
    browser.set_window_size(1280, 900)

    # The archive: a word from the record finds the past meeting.
    browser.get(service.url + "/treffen")
    browser.find_element(By.ID, "q").send_keys("Reparatur")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form.search button"))
    found = browser.find_elements(By.CSS_SELECTOR, "[aria-labelledby=archive-heading] li")
    assert len(found) == 1 and "Reparieren statt wegwerfen" in found[0].text
    go(browser, found[0].find_element(By.TAG_NAME, "a"))
    assert "Reparatur-Café" in browser.find_element(By.CLASS_NAME, "record").text

    # The next meeting: "Ich komme", the link by mail, confirmed on its page.
    browser.get(service.url + f"/treffen/{ids['ahead']}")
    assert "Barrierefreies WC" in browser.find_element(By.TAG_NAME, "main").text
    browser.find_element(By.ID, "email").send_keys("besucher@example.org")
    browser.find_element(By.CSS_SELECTOR, "input[value=yes]").click()
    go(browser, browser.find_element(By.ID, "submit"))
    heading_becomes(browser, "Bitte schauen Sie in Ihr E-Mail-Postfach")
    open_link_in_mail(browser, service, "Ihr Antwort-Link: Stadtteilvernetzer-Treffen: "
                      "Nachbarschaftshilfe", "antwort=yes")
    assert "Danke, Ihre Antwort ist gespeichert" in browser.find_element(By.TAG_NAME, "main").text

    # The full NetzWerkStatt: sent empty on a phone, every field says what is missing
    # right under it; then registered, confirmed, on the waiting list.
    browser.set_window_size(390, 844)
    browser.get(service.url + f"/netzwerkstatt/{ids['workshop']}/anmelden")
    assert "Alle Plätze sind vergeben" in browser.find_element(By.TAG_NAME, "main").text
    browser.find_element(By.ID, "organisation").send_keys("Bürgerverein")
    go(browser, browser.find_element(By.ID, "submit"))
    placed = browser.execute_script("""
        return [...document.querySelectorAll('.field-error')].map(error => {
          const input = document.querySelector(`[aria-describedby="${error.id}"]`);
          const field = error.getBoundingClientRect(), box = input.getBoundingClientRect();
          const before = error.previousElementSibling;  // the input, or its label
          return [input.id, error.closest('.field') === input.closest('.field')
                  && (before === input || before.htmlFor === input.id)
                  && field.top >= box.bottom - 1 && field.width > 0
                  && field.right <= window.innerWidth];
        });""")
    assert dict(placed) == {"name": True, "email": True, "consent": True}
    assert browser.find_element(By.ID, "organisation").get_attribute("value") == "Bürgerverein"
    browser.set_window_size(1280, 900)
    browser.find_element(By.ID, "name").send_keys("Wanda Wartend")
    browser.find_element(By.ID, "email").send_keys("warte@example.org")
    tick(browser, "consent")
    go(browser, browser.find_element(By.ID, "submit"))
    heading_becomes(browser, "Bitte schauen Sie in Ihr E-Mail-Postfach")
    open_link_in_mail(browser, service, "Bitte bestätigen Sie Ihre Anmeldung zur NetzWerkStatt",
                      "/netzwerkstatt/bestaetigen/", to="warte@example.org")
    assert "auf Platz 1" in browser.find_element(By.TAG_NAME, "main").text
    status_page = browser.current_url

    # The registered person cancels from their mail; the offer reaches the first waiting.
    open_link_in_mail(browser, service, "Ihr Platz bei der NetzWerkStatt",
                      "/netzwerkstatt/anmeldung/")
    assert "Wirklich stornieren?" in browser.find_element(By.TAG_NAME, "main").text
    go(browser, browser.find_element(By.ID, "cancel-sure"))
    assert "storniert" in browser.find_element(By.TAG_NAME, "main").text
    go(browser, wait_for_mail(browser, service, "Ein Platz bei der NetzWerkStatt ist für Sie frei"))
    browser.get(browser.find_element(By.PARTIAL_LINK_TEXT, "/angebot/").get_attribute("href"))
    offer_page = browser.current_url
    go(browser, browser.find_element(By.ID, "accept"))
    assert "Der Platz gehört Ihnen" in browser.find_element(By.TAG_NAME, "main").text
    assert "warte@example.org" in recipients_in_catcher(service)

    # The organiser's list shows her with a place.
    browser.get(service.url + "/organisation/")
    browser.find_element(By.ID, "email").send_keys("orga@example.org")
    go(browser, browser.find_element(By.ID, "submit"))
    open_link_in_mail(browser, service, "Ihr Anmeldelink für vernetzer", "/organisation/anmelden/")
    browser.get(service.url + f"/organisation/netzwerkstatt/{ids['workshop']}")
    with_place = browser.find_element(By.CSS_SELECTOR, "table[data-status=registered]").text
    assert "Wanda Wartend" in with_place and "Vera Voll" not in with_place

    # Screenshots, and the audit of every page at phone and desktop width.
    public = ["/", "/treffen", f"/treffen/{ids['ahead']}", f"/treffen/{ids['past']}",
              f"/treffen/{ids['workshop']}", f"/netzwerkstatt/{ids['workshop']}/anmelden",
              "/impressum", "/datenschutz", "/widget/naechstes-treffen",
              status_page.removeprefix(service.url), offer_page.removeprefix(service.url)]
    organisers = ["/organisation/", f"/organisation/treffen/{ids['ahead']}",
                  f"/organisation/treffen/{ids['past']}", "/organisation/treffen/neu",
                  "/organisation/orte", "/organisation/versand", "/organisation/verteiler",
                  "/organisation/verteiler/neu",
                  "/organisation/protokoll", "/organisation/jahresplanung",
                  "/organisation/ankuendigungen/", "/organisation/widget",
                  f"/organisation/netzwerkstatt/{ids['workshop']}",
                  "/organisation/eingang/"]
    shots = {"/": "home", "/treffen": "treffen", f"/treffen/{ids['ahead']}": "treffen-seite",
             "/widget/naechstes-treffen": "widget"}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for width in (390, 1280):
        browser.set_window_size(width, 900)
        for path in public + organisers:
            browser.get(service.url + path)
            assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "de"
            if path in shots:
                browser.save_screenshot(str(SCREENSHOTS / f"{shots[path]}-{width}.png"))
            problems += [f"{path} at {width} px: {v}" for v in axe_violations(browser)]
            if not browser.execute_script(  # nothing wider than a phone's screen
                    "return document.documentElement.scrollWidth <= window.innerWidth"):
                problems.append(f"{path} at {width} px is wider than the screen")
            problems += [f"{path} at {width} px: {apart}"
                         for apart in browser.execute_script(RADIOS_APART)]
    assert problems == []

    # The widget on the blog (allowed) as the organisers' page gives its snippet, in a
    # 280 px sidebar: the frame grows to show every meeting and "Alle Treffen". On
    # another site it is refused; the JSON is read from both.
    browser.get(service.url + "/organisation/widget")
    snippet = browser.find_element(By.CSS_SELECTOR, "pre code").text
    api = service.url + "/api/treffen.json"
    page = BLOG.format(snippet=snippet, api=api)
    (tmp_path / "blog" / "index.html").write_text(page, encoding="utf-8")
    other = serve_page(tmp_path / "other", page)
    try:
        browser.get(f"http://127.0.0.1:{service.blog.server_address[1]}/")
        wait_until(browser, lambda: browser.find_element(By.ID, "out").text == "Treffen: 2")
        frame = browser.find_element(By.ID, "vernetzer-widget")
        browser.switch_to.frame(frame)
        assert "Nachbarschaftshilfe" in browser.find_element(By.TAG_NAME, "body").text
        assert browser.find_element(By.TAG_NAME, "h1").text == "Nächste Treffen"
        height = browser.execute_script(
            "return Math.ceil(document.body.getBoundingClientRect().height)")
        browser.switch_to.default_content()
        # The frame takes the widget's height, as the widget posts it: every meeting
        # and "Alle Treffen" in view, no scrolling inside a sidebar.
        wait_until(browser, lambda: abs(frame.size["height"] - height) <= 2)
        browser.get(f"http://127.0.0.1:{other.server_address[1]}/")
        wait_until(browser, lambda: browser.find_element(By.ID, "out").text == "Treffen: 2")
        browser.switch_to.frame(browser.find_element(By.ID, "vernetzer-widget"))
        assert "Nachbarschaftshilfe" not in browser.find_element(By.TAG_NAME, "body").text
        browser.switch_to.default_content()
    finally:
        other.shutdown()


def wait_until(browser, condition, seconds: float = 15):
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, seconds, ignored_exceptions=(WebDriverException,)).until(
        lambda _driver: condition())


POSTING_MEMBER = """
from app import create_app
from app.extensions import db
from app.subscriptions import services as subscriptions
from app.subscriptions.mails import subscriber_links

app = create_app()
with app.test_request_context():
    anna = subscriptions.add_person("anna@example.org", actor="setup", name="Anna Aydın",
                                    consent_note="Beim Treffen eingetragen")
    db.session.commit()
    print(subscriber_links(anna)["preferences_url"])
"""


def test_a_member_writes_an_organiser_approves_and_the_archive_shows_it(service, browser):
    from selenium.webdriver.common.by import By

    setup = subprocess.run([sys.executable, "-c", POSTING_MEMBER], cwd=ROOT, env=service.env,
                           capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr
    settings_url = setup.stdout.strip().splitlines()[-1]
    browser.set_window_size(390, 844)
    problems = {}

    browser.get(settings_url)
    heading_becomes(browser, "Ihre Einstellungen")
    problems["settings"] = axe_violations(browser)
    go(browser, browser.find_element(By.LINK_TEXT, "Beitrag an den Verteiler"))
    heading_becomes(browser, "An den Verteiler schreiben")
    problems["write"] = axe_violations(browser)
    browser.find_element(By.ID, "subject").send_keys("Lesepaten für Zuffenhausen gesucht")
    browser.find_element(By.ID, "text").send_keys(
        "Die Stadtteilbibliothek sucht **Lesepatinnen und Lesepaten**.\nMeldet euch!")
    tick(browser, "public")
    go(browser, browser.find_element(By.ID, "submit"))
    heading_becomes(browser, "Vielen Dank")
    assert "wartet auf das Orga-Team" in browser.find_element(By.TAG_NAME, "main").text
    problems["written"] = axe_violations(browser)

    added = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "organisers", "add",
                            "orga@example.org"], cwd=ROOT, env=service.env,
                           capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    browser.get(service.url + "/organisation/anmelden")
    browser.find_element(By.ID, "email").send_keys("orga@example.org")
    go(browser, browser.find_element(By.ID, "submit"))
    open_link_in_mail(browser, service, "Ihr Anmeldelink für vernetzer", "/organisation/anmelden/")
    browser.get(service.url + "/organisation/beitraege/")
    heading_becomes(browser, "Beiträge, die auf Freigabe warten")
    held = browser.find_element(By.CSS_SELECTOR, "article.held-post").text
    assert "Lesepaten für Zuffenhausen gesucht" in held and "anna@example.org" in held
    problems["moderation"] = axe_violations(browser)
    go(browser, browser.find_element(By.CSS_SELECTOR, "button[name=approve]"))
    assert "Der Beitrag geht an 1 Mitglieder." in browser.find_element(By.TAG_NAME, "main").text
    assert "Kein Beitrag wartet." in browser.find_element(By.TAG_NAME, "main").text

    browser.get(service.url + "/beitraege")
    heading_becomes(browser, "Beiträge an den Verteiler")
    problems["archive"] = axe_violations(browser)
    go(browser, browser.find_element(By.LINK_TEXT, "Lesepaten für Zuffenhausen gesucht"))
    heading_becomes(browser, "Lesepaten für Zuffenhausen gesucht")
    main = browser.find_element(By.TAG_NAME, "main")
    assert "Lesepatinnen und Lesepaten" in main.find_element(By.TAG_NAME, "strong").text
    assert "Anna Aydın" in main.text
    problems["post"] = axe_violations(browser)
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")  # no sideways

    # The topics and the district map, on the same phone: each district is a link the
    # keyboard reaches, with its name.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.get(service.url + "/themen")
    heading_becomes(browser, "Themen, die wir uns wünschen")
    problems["topics"] = axe_violations(browser)
    browser.save_screenshot(str(SCREENSHOTS / "themen-390.png"))
    browser.get(service.url + "/bezirke")
    heading_becomes(browser, "Die Stadtbezirke")
    problems["districts"] = axe_violations(browser)
    browser.save_screenshot(str(SCREENSHOTS / "bezirke-390.png"))
    tiles = browser.find_elements(By.CSS_SELECTOR, "svg.district-map a")
    assert len(tiles) == 23
    browser.execute_script("arguments[0].focus()", tiles[0])
    assert browser.execute_script("return document.activeElement.textContent").split() == [
        "Weilimdorf"]  # a link with its name (no meeting there yet)
    smallest = browser.execute_script(
        "return Math.min(...[...document.querySelectorAll('svg.district-map .tile-name')]"
        ".map(t => t.getBoundingClientRect().height))")
    assert smallest >= 9  # the names stay readable on a phone (CSS pixels of a line)
    go(browser, browser.find_element(By.CSS_SELECTOR, 'svg.district-map a[href$="/vaihingen"]'))
    heading_becomes(browser, "Vaihingen")
    problems["district"] = axe_violations(browser)
    for path, heading, name in (("/projekte", "Projekte, die wandern", "projekte"),
                                ("/projekte/vorschlagen", "Ein Projekt vorschlagen",
                                 "projekt-vorschlagen")):
        browser.get(service.url + path)
        heading_becomes(browser, heading)
        problems[name] = axe_violations(browser)
        browser.save_screenshot(str(SCREENSHOTS / f"{name}-390.png"))
    assert problems == {page: [] for page in problems}


KNOWLEDGE_SETUP = """
from datetime import timedelta
from app import create_app
from app.extensions import db
from app.meetings import services as meetings, venues
from app.shared.database import utcnow
from app.subscriptions import services as subscriptions
from app.subscriptions.mails import subscriber_links

app = create_app()
with app.test_request_context():
    subscriptions.add_person("anna@example.org", actor="setup", name="Anna Aydın",
                             consent_note="Beim Treffen eingetragen")
    place = venues.add_venue(actor="setup", name="Bürgerhaus Rohr", address="Rohrer Str. 1",
                             district="Vaihingen")
    start = utcnow().replace(second=0, microsecond=0) + timedelta(days=20)
    meeting = meetings.create(actor="setup", start=start, end=start + timedelta(hours=2),
                              district="Vaihingen", venue_id=place.id, allow_same_evening=True)
    meetings.announce(meeting, actor="setup")
    db.session.commit()
    print(meeting.id)
"""

# The meeting has taken place (four days ago), and Anna had said "Ich komme".
KNOWLEDGE_MEETING_HELD = """
import sys
from datetime import timedelta
from app import create_app
from app.extensions import db
from app.meetings import rsvp, services as meetings
from app.meetings.models import Answer, AnswerSource
from app.shared.database import utcnow
from app.subscriptions import services as subscriptions

app = create_app()
with app.test_request_context():
    meeting = meetings.find(int(sys.argv[1]))
    rsvp.record(meeting, subscriptions.find_by_email("anna@example.org"), Answer.YES,
                AnswerSource.LINK)
    meeting.start_at = utcnow() - timedelta(days=4, hours=2)
    meeting.end_at = utcnow() - timedelta(days=4)
    db.session.commit()
"""


# What sticks out to the right of a phone's screen (the page would scroll sideways).
WIDER_THAN_PHONE = """
const page = document.documentElement;
return [...document.querySelectorAll('body *')].filter(e =>
    (e.getBoundingClientRect().right > page.clientWidth + 1 || e.scrollWidth > e.clientWidth + 1
     && getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0)
    && !e.closest('.table-wrap')).slice(0, 5).map(e =>
    `${e.tagName.toLowerCase()}.${e.className} sticks out: ${e.textContent.slice(0, 40)}`
).concat(page.scrollWidth > page.clientWidth ? ['the page scrolls sideways'] : []);
"""


def run_script(service, script, *args):
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, env=service.env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def flask_command(service, *args):
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                          env=service.env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fill(browser, **fields):
    """Type into the fields with these IDs (a date field gets its value as ISO text)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for field_id, value in fields.items():
        element = browser.find_element(By.ID, field_id.replace("__", "-"))
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        elif element.get_attribute("type") == "date":
            browser.execute_script("arguments[0].value = arguments[1]", element, value)
        else:
            element.clear()
            element.send_keys(value)


def test_a_topic_and_a_project_travel_from_proposal_to_record_toolbox_and_map(service,
                                                                               browser):
    """Issue 26 in a browser on a phone: a visitor proposes a topic, an organiser
    publishes it, a member shows interest, it is chosen for the Vaihingen meeting;
    a project is proposed and published; after the meeting the organiser closes it
    out (the count prefilled from the answers, the project presented, an insight for
    the Werkzeugkoffer); the topic says "besprochen am", the mail after the meeting
    reaches the member who came, the Werkzeugkoffer names the meeting, and the
    project, taken up in Vaihingen, is an arrow on the map. axe-core on every page."""
    from selenium.webdriver.common.by import By

    meeting_id = run_script(service, KNOWLEDGE_SETUP)
    flask_command(service, "organisers", "add", "orga@example.org")
    browser.set_window_size(390, 844)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = {}

    def look(name, heading):
        heading_becomes(browser, heading)
        problems[name] = axe_violations(browser) + browser.execute_script(WIDER_THAN_PHONE)
        browser.save_screenshot(str(SCREENSHOTS / f"{name}-390.png"))

    # A visitor proposes a topic and confirms it by mail.
    browser.get(service.url + "/themen")
    fill(browser, proposal__title="Repair Cafés gründen",
         proposal__description="Wie fängt man an, wer hilft?", proposal__email="rita@example.net")
    go(browser, browser.find_element(By.ID, "proposal-submit"))
    heading_becomes(browser, "Bitte schauen Sie in Ihr Postfach")
    open_link_in_mail(browser, service, "Bitte bestätigen Sie Ihren Themenvorschlag",
                      "/themen/bestaetigen/")
    heading_becomes(browser, "Vielen Dank")

    # An organiser signs in and publishes it.
    browser.get(service.url + "/organisation/anmelden")
    browser.find_element(By.ID, "email").send_keys("orga@example.org")
    go(browser, browser.find_element(By.ID, "submit"))
    open_link_in_mail(browser, service, "Ihr Anmeldelink für vernetzer", "/organisation/anmelden/")
    browser.get(service.url + "/organisation/themen/")
    go(browser, browser.find_element(By.XPATH, '//button[normalize-space(.)="Veröffentlichen"]'))

    # Anna, on the list, asks for her link and shows interest.
    browser.get(service.url + "/themen")
    fill(browser, link__email="anna@example.org")
    go(browser, browser.find_element(By.ID, "link-submit"))
    go(browser, wait_for_mail(browser, service, "Ihr Link zu den Themen"))
    browser.get(browser.find_element(By.PARTIAL_LINK_TEXT, "/themen/mitglied/")
                .get_attribute("href"))
    look("themen-mitglied", "Themen")
    go(browser, browser.find_element(By.CSS_SELECTOR, 'button[aria-label^="Interessiert mich"]'))
    browser.get(service.url + "/themen")
    look("themen", "Themen, die wir uns wünschen")
    assert "1 Person interessiert sich" in browser.find_element(By.TAG_NAME, "main").text

    # The organiser chooses it for the Vaihingen meeting.
    browser.get(service.url + "/organisation/themen/")
    look("themen-organisation", "Themen")
    go(browser, browser.find_element(By.XPATH,
                                     '//button[normalize-space(.)="Für dieses Treffen wählen"]'))
    browser.get(service.url + "/themen")
    assert "geplant für" in browser.find_element(By.TAG_NAME, "main").text

    # A project, proposed by a visitor, confirmed, published.
    browser.get(service.url + "/projekte/vorschlagen")
    fill(browser, project__name="Repair Café", project__district="Mitte",
         project__description="Einmal im Monat reparieren Ehrenamtliche mit Nachbarn.",
         project__email="vera@example.net")
    tick(browser, "project-phases-0")
    go(browser, browser.find_element(By.ID, "project-submit"))
    open_link_in_mail(browser, service, "Bitte bestätigen Sie Ihren Vorschlag für den "
                      "Projektatlas", "/projekte/bestaetigen/")
    browser.get(service.url + "/organisation/projekte/")
    go(browser, browser.find_element(By.XPATH, '//button[normalize-space(.)="Veröffentlichen"]'))

    # After the meeting: the close-out.
    run_script(service, KNOWLEDGE_MEETING_HELD, meeting_id)
    browser.get(f"{service.url}/organisation/treffen/{meeting_id}")
    go(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Treffen abschließen"))
    look("abschluss", "Abschluss: Vaihingen")
    assert browser.find_element(By.ID, "attendance").get_attribute("value") == "1"  # Anna
    fill(browser, walk_ins="4",
         record="Ein Repair Café braucht zuerst einen Raum, dann Leute, die reparieren.",
         follow_ups__0__task="Raumliste an alle schicken", follow_ups__0__person="Rita",
         follow_ups__0__due="2027-01-15", insights__0__phase="start",
         insights__0__text="Erst den Raum suchen, dann die Leute.")
    tick(browser, "projects-0")
    go(browser, browser.find_element(By.ID, "submit"))
    assert "Das Treffen ist abgeschlossen." in browser.find_element(By.TAG_NAME, "main").text

    browser.get(service.url + "/themen")
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "besprochen am" in main
    go(browser, browser.find_element(By.LINK_TEXT, "zum Treffen und seinem Bericht"))
    assert "Ein Repair Café braucht zuerst einen Raum" in browser.find_element(
        By.TAG_NAME, "main").text

    # The mail after the meeting, to Anna who came.
    flask_command(service, "jobs", "run-due")
    go(browser, wait_for_mail(browser, service, "Was beim Treffen in Vaihingen herauskam",
                              to="anna@example.org"))

    # The Werkzeugkoffer names the meeting; the project page has its way to ask.
    browser.get(service.url + "/werkzeugkoffer")
    look("werkzeugkoffer", "Werkzeugkoffer")
    start = browser.find_element(By.ID, "start").text
    browser.execute_script("document.getElementById('start').scrollIntoView()")
    browser.save_screenshot(str(SCREENSHOTS / "werkzeugkoffer-start-390.png"))
    assert "Erst den Raum suchen, dann die Leute." in start and "Vaihingen" in start
    assert "Repair Café" in start
    go(browser, browser.find_element(By.LINK_TEXT, "Repair Café"))
    look("projekt", "Repair Café")
    assert "Ich möchte das auch machen" in browser.find_element(By.TAG_NAME, "main").text
    project_url = browser.current_url
    fill(browser, ask__name="Vera Frage", ask__email="vera@example.net",
         ask__message="Wir möchten das in Vaihingen auch machen. Wie habt ihr angefangen?")
    go(browser, browser.find_element(By.ID, "ask-submit"))
    heading_becomes(browser, "Bitte schauen Sie in Ihr Postfach")
    open_link_in_mail(browser, service, "Bitte bestätigen Sie Ihre Nachricht",
                      "/anfrage/bestaetigen/")
    look("anfrage-gesendet", "Vielen Dank")
    wait_for_mail(browser, service, "Jemand möchte das auch machen: Repair Café",
                  to="orga@example.org")  # no contact agreed: the organisers get it
    browser.get(service.url + "/themen")
    go(browser, browser.find_element(By.LINK_TEXT, "Repair Cafés gründen"))
    look("thema", "Repair Cafés gründen")
    browser.get(service.url + "/organisation/werkzeugkoffer")
    look("werkzeugkoffer-einleitungen", "Werkzeugkoffer: Einleitungen")
    browser.get(project_url)

    # Taken up in Vaihingen: confirmed, published, an arrow on the map.
    go(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "In Ihrem Bezirk übernommen"))
    fill(browser, adoption__district="Vaihingen", adoption__year="2026",
         adoption__how="Im Bürgerhaus Rohr, jeden zweiten Samstag",
         adoption__email="vera@example.net")
    go(browser, browser.find_element(By.ID, "adoption-submit"))
    subject = "Bitte bestätigen Sie Ihren Vorschlag für den Projektatlas"

    def second_confirmation():  # the catcher lists the newest first
        browser.get(service.url + "/_mails/")
        return len(browser.find_elements(By.LINK_TEXT, subject)) == 2

    wait_until(browser, second_confirmation, 30)
    open_link_in_mail(browser, service, subject, "/projekte/bestaetigen/uebernahme/")
    browser.get(service.url + "/organisation/projekte/")
    go(browser, browser.find_element(By.XPATH, '//button[normalize-space(.)="Veröffentlichen"]'))
    browser.get(service.url + "/projekte")
    look("projekte-karte", "Projekte, die wandern")
    titles = browser.execute_script(
        "return [...document.querySelectorAll('svg.district-map title')].map(t => t.textContent)")
    assert "Repair Café: übernommen in Vaihingen 2026" in titles
    browser.execute_script("document.querySelector('svg.district-map').scrollIntoView()")
    browser.save_screenshot(str(SCREENSHOTS / "projekte-karte-pfeil-390.png"))
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")  # no sideways
    assert problems == {page: [] for page in problems}
