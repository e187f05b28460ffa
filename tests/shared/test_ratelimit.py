"""Rate limits hold across web processes when they count in Redis, and only then."""

import socket

import pytest
import redis

from app import create_app
from tests.conftest import base_config, csrf_token

REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture
def shared_redis():
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6379)):
            pytest.skip("no Redis on 127.0.0.1:6379 (CI runs one)")
    client = redis.Redis.from_url(REDIS)
    client.flushdb()
    yield REDIS
    client.flushdb()


def web_process(database, smtp_server, tmp_path, storage):
    """One web process of an installation (its own app: its own limiter)."""
    app = create_app({**base_config(database, smtp_server.port, tmp_path),
                      "RATELIMIT_STORAGE_URI": storage, "CONFIRM_MAILS_PER_IP": "4/hour"})
    visitor = app.test_client()
    visitor.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    return visitor


def sign_ups(visitors, count: int) -> int:
    """Sign-ups from one address, alternating between the processes; how many were
    not held back."""
    accepted = 0
    for number in range(count):
        visitor = visitors[number % len(visitors)]
        token = csrf_token(visitor.get("/").text)
        page = visitor.post("/", data={"csrf_token": token, "email": f"p{number}@example.org"})
        accepted += "viele Anfragen erreicht" not in page.text
    return accepted


def test_two_web_processes_share_the_limit_in_redis(live_database, smtp_server, tmp_path,
                                                    shared_redis):
    visitors = [web_process(live_database, smtp_server, tmp_path / str(n), shared_redis)
                for n in range(2)]
    assert sign_ups(visitors, 10) == 4


def test_in_memory_each_process_counts_alone(live_database, smtp_server, tmp_path):
    visitors = [web_process(live_database, smtp_server, tmp_path / str(n), "memory://")
                for n in range(2)]
    assert sign_ups(visitors, 10) == 8  # why doctor fails memory:// with several processes
