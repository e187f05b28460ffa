"""The whole service as README's first command runs it (web server, worker, mail
catcher on SQLite), driven by a real browser: subscribe, read the mail in the
catcher, confirm, unsubscribe."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import free_port, wait_for_port

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
    env = {
        **os.environ,
        "FLASK_SECRET_KEY": "end-to-end",
        "FLASK_MAIL_CATCHER": "true",
        "FLASK_MAIL_PORT": str(smtp_port),
        "FLASK_MAIL_CATCHER_DIR": str(tmp_path / "mails"),
        "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'vernetzer.sqlite3'}",
        "FLASK_BASE_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not wait_for_port(port, process, 60):
        process.kill()
        pytest.fail("service did not start:\n" + process.stdout.read())
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}", env=env)
    process.terminate()
    output = process.communicate(timeout=30)[0]
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


def wait_for_mail(browser, service, subject):
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        browser.get(service.url + "/_mails/")
        links = browser.find_elements(By.LINK_TEXT, subject)
        if links:
            return links[0]
        time.sleep(0.5)
    pytest.fail(f"no mail {subject!r} in the catcher")


def open_link_in_mail(browser, service, subject, link_part):
    """Find the mail in the catcher, open its link, press the page's button."""
    from selenium.webdriver.common.by import By

    go(browser, wait_for_mail(browser, service, subject))
    browser.get(browser.find_element(By.PARTIAL_LINK_TEXT, link_part).get_attribute("href"))
    go(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]"))


def go(browser, element):
    """Click a link or button and wait until the browser has left the page."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    # A mark on the old document's window: it is gone once the next page has
    # loaded. (Waiting for an element to go stale races with Chromium, which
    # may answer with an inspector error instead of a stale reference.)
    browser.execute_script("window.vernetzerOldPage = true;")
    element.click()
    WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script(
            "return document.readyState === 'complete' && !window.vernetzerOldPage;"))


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
    browser.find_element(By.ID, "body").send_keys("Liebe Leute, **kommt** vorbei!")
    tomorrow = time.strftime("%Y-%m-%dT10:00", time.localtime(time.time() + 86400))
    browser.execute_script("arguments[0].value = arguments[1]",
                           browser.find_element(By.ID, "send_at"), tomorrow)
    go(browser, browser.find_element(By.ID, "submit"))
    heading_becomes(browser, "Vorschau")
    frame = browser.find_element(By.CSS_SELECTOR, "iframe.mail-preview")
    assert frame.get_attribute("sandbox") == ""
    browser.switch_to.frame(frame)
    assert "kommt" in browser.find_element(By.TAG_NAME, "strong").text
    browser.switch_to.default_content()
    assert "an 1 Person" in browser.find_element(By.TAG_NAME, "main").text
    preview_url = browser.current_url
    go(browser, browser.find_element(By.XPATH, "//button[text()='Test an mich senden']"))
    assert "Ein Test wurde an anna@example.org gesendet" in browser.find_element(
        By.TAG_NAME, "main").text
    wait_for_mail(browser, service, "[Test] Thema: Nachbarschaftshilfe")

    # Confirmed (announcing the meeting with it), listed, then withdrawn.
    browser.get(preview_url)
    browser.find_element(By.ID, "announce_meeting").click()
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
