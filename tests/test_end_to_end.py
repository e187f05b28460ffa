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


def test_organiser_signs_in_and_plans_a_meeting_on_a_phone(service, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    cli = [sys.executable, "-m", "flask", "--app", "app"]
    added = subprocess.run([*cli, "organisers", "add", "anna@example.org", "--role", "admin"],
                           cwd=ROOT, env=service.env, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    browser.set_window_size(390, 844)  # a phone
    browser.get(service.url + "/organisation/")  # not signed in: to the sign-in page
    heading_becomes(browser, "Anmeldung für das Orga-Team")
    browser.find_element(By.ID, "email").send_keys("anna@example.org")
    go(browser, browser.find_element(By.ID, "submit"))
    heading_becomes(browser, "Bitte schauen Sie in Ihr E-Mail-Postfach")
    open_link_in_mail(browser, service, "Ihr Anmeldelink für vernetzer", "/organisation/anmelden/")
    heading_becomes(browser, "Treffen")

    go(browser, browser.find_element(By.LINK_TEXT, "Neues Treffen"))
    year = time.localtime().tm_year + 1
    for field, value in (("start", f"{year}-03-09T18:00"), ("end", f"{year}-03-09T20:00")):
        browser.execute_script("arguments[0].value = arguments[1]",
                               browser.find_element(By.ID, field), value)
    Select(browser.find_element(By.ID, "district")).select_by_visible_text("Vaihingen")
    browser.find_element(By.ID, "topic").send_keys("Nachbarschaftshilfe")
    go(browser, browser.find_element(By.ID, "submit"))
    heading_becomes(browser, "Treffen in Vaihingen")
    assert "als Entwurf gespeichert" in browser.find_element(By.TAG_NAME, "main").text
    go(browser, browser.find_element(By.XPATH, "//button[text()='Ankündigen']"))
    heading_becomes(browser, "Treffen in Vaihingen")
    assert "angekündigt" in browser.find_element(By.TAG_NAME, "main").text
    # The page fits the phone: nothing wider than the screen but scrollable tables.
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
