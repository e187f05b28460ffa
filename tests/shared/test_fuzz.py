"""Property-based tests (hypothesis) of what strangers can send: every form field, every
signed link, the CSV import and the inbound mail parser get arbitrary text, Unicode,
control characters and huge values. Never a 500, never a partial record; sign-up and
sign-in answer known and unknown addresses alike, in body and in time."""

import statistics
import time

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.inbound.models import InboundMail
from app.subscriptions.models import ConsentEvent, Subscriber
from tests.conftest import csrf_token, form_token, organiser

pytestmark = pytest.mark.slow
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
TEXT = st.one_of(st.text(max_size=300), st.text(alphabet=st.characters(codec="utf-8"),
                                                min_size=1000, max_size=20_000),
                 st.sampled_from(["\x00", "a\r\nBcc: x@example.org", "=?utf-8?q?x?=",
                                  "😀" * 2000, "%00", "../../etc/passwd", "<script>",
                                  "0001-01-01T00:00", "x@" + "a" * 300 + ".org"]))


def rows(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Subscriber)),
                db.session.scalar(sa.select(sa.func.count()).select_from(ConsentEvent)))


@FUZZ
@given(email=TEXT, name=TEXT)
def test_the_sign_up_form_never_fails_nor_half_writes(app, client, mailbox, email, name):
    before = rows(app)
    token = csrf_token(client.get("/").text)
    answer = client.post("/", data={"csrf_token": token, "email": email, "name": name})
    assert answer.status_code in (200, 400, 413)
    after = rows(app)
    if answer.status_code != 200:
        assert after == before
    else:
        assert after[0] - before[0] in (0, 1) and after[1] - before[1] in (0, 1)


@FUZZ
@given(token=st.text(min_size=1, max_size=400).filter(lambda t: "/" not in t and t.strip()),
       page=st.sampled_from(["/bestaetigen/{}", "/abmelden/{}", "/einstellungen/{}",
                             "/einstellungen/{}/daten.json", "/organisation/anmelden/{}",
                             "/treffen/1/antwort/{}"]))
def test_every_signed_link_refuses_what_it_did_not_sign(client, token, page):
    from urllib.parse import quote

    url = page.format(quote(token, safe=""))
    assert client.get(url).status_code in (400, 404)
    answer = client.post(url, data={"csrf_token": form_token(client)})
    assert answer.status_code in (400, 404, 405)


@FUZZ
@given(content=st.one_of(st.text(max_size=2000), st.binary(max_size=2000).map(
    lambda data: data.decode("latin-1"))))
def test_the_csv_import_reports_or_refuses_in_one_line(app, runner, tmp_path_factory, content):
    path = tmp_path_factory.mktemp("csv") / "liste.csv"
    path.write_bytes(content.encode("utf-8", errors="replace"))
    before = rows(app)
    result = runner.invoke(args=["subscribers", "import", str(path), "--apply",
                                 "--consent-note", "Test"])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code:
        assert rows(app) == before
        assert len(result.output.strip().splitlines()) == 1


@FUZZ
@given(raw=st.one_of(st.binary(max_size=5000), st.text(max_size=3000).map(str.encode),
                     st.builds(lambda head, body: head + b"\r\n\r\n" + body,
                               st.sampled_from([b"From: a@example.org\r\nSubject: =?x?q?y?=",
                                                b"Content-Type: multipart/mixed; boundary=x",
                                                b"Content-Type: text/calendar; method=REPLY",
                                                b"Message-ID: <" + b"x" * 900 + b">"]),
                               st.binary(max_size=3000))))
def test_inbound_mail_of_any_shape_is_handled_or_kept(app, runner, raw):
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(InboundMail))
    result = runner.invoke(args=["inbound"], input=raw)
    assert result.exit_code in (0, 1, 2), result.output  # 2: nothing on standard input
    assert result.exception is None or isinstance(result.exception, SystemExit)
    with app.app_context():
        after = db.session.scalar(sa.select(sa.func.count()).select_from(InboundMail))
    assert after - before in (0, 1)


def _medians_ms(client, page: str, emails: list[str], rounds: int) -> list[float]:
    """Median time of a post per address, the addresses taking turns (the order
    alternating each round), so that whatever else loads the machine loads both.
    ``{n}`` in an address makes a new one each round (an unknown address stays
    unknown only once)."""
    times = [[] for _ in emails]
    for number in range(rounds):
        order = list(enumerate(emails))
        for index, email in order if number % 2 else reversed(order):
            token = csrf_token(client.get(page).text)
            began = time.perf_counter()
            client.post(page, data={"csrf_token": token, "email": email.format(n=number),
                                    "name": ""})
            times[index].append((time.perf_counter() - began) * 1000)
    return [statistics.median(series) for series in times]


def _leaks(medians: list[float]) -> bool:
    """Whether one class of address measurably takes longer: by 10 ms, or a quarter
    of the faster's time when the machine is slow. Any real leak (an SMTP
    conversation, a password hash, a write only one class does) costs more; a busy
    machine slows both classes alike."""
    slower, faster = max(medians), min(medians)
    return slower - faster >= max(10.0, faster / 4)


@pytest.fixture
def timed(app, runner, mailbox):
    """A client for the request alone (no worker sending afterwards), an organiser,
    a pending sign-up, and limits off: every request does the full work."""
    app.config.update(CONFIRM_MAILS_PER_ADDRESS="1000000/hour",
                      CONFIRM_MAILS_PER_IP="1000000/hour",
                      SIGNIN_MAILS_PER_ADDRESS="1000000/hour",
                      SIGNIN_MAILS_PER_IP="1000000/hour")
    organiser(runner, "orga@example.org", "organiser")
    client = FlaskClient(app)
    client.post("/", data={"csrf_token": csrf_token(client.get("/").text),
                           "email": "orga@example.org", "name": ""})
    return client


# Known (an organiser; a pending sign-up) and unknown, a new one every time.
ADDRESSES = ["orga@example.org", "nobody-{n}@example.org"]


@pytest.mark.parametrize("page", ["/", "/organisation/anmelden"])
def test_known_and_unknown_addresses_take_the_same_time(timed, page):
    """What a stranger could measure is not whether an address is known."""
    _medians_ms(timed, page, ADDRESSES, 10)  # warm up both paths
    medians = _medians_ms(timed, page, ADDRESSES, 120)
    assert not _leaks(medians), medians


def test_the_timing_check_finds_a_20_ms_leak(timed, monkeypatch):
    """The same measurement, with 20 ms more for known addresses only (as a
    password hash or an SMTP conversation would cost): found."""
    from app.subscriptions import services

    found = services.find_by_email

    def slow_when_known(email):
        subscriber = found(email)
        if subscriber is not None:
            time.sleep(0.02)
        return subscriber

    monkeypatch.setattr(services, "find_by_email", slow_when_known)
    _medians_ms(timed, "/", ADDRESSES, 5)
    assert _leaks(_medians_ms(timed, "/", ADDRESSES, 40))
