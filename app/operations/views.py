"""``/healthz`` for a monitor or a load balancer."""

from flask import Blueprint, jsonify, request

from . import health

bp = Blueprint("operations", __name__)


@bp.get("/healthz")
def healthz():
    """200 while the database answers and a worker is running, else 503. Also tells
    the client address and scheme as this app saw them (``doctor`` checks the
    proxy settings with it)."""
    database = health.database_reachable()
    age = health.worker_age() if database else None
    alive = health.worker_alive(age)
    body = {"status": "ok" if database and alive else "failing",
            "database": "ok" if database else "unreachable",
            "worker": "ok" if alive else ("never seen" if age is None else "stale"),
            "worker_seen_seconds_ago": None if age is None else round(age.total_seconds()),
            "client": request.remote_addr, "scheme": request.scheme}
    response = jsonify(body)
    response.status_code = 200 if body["status"] == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response
