"""gunicorn for vernetzer's web processes: ``gunicorn -c deploy/gunicorn.conf.py``.

Settings come from the environment like everything else (``FLASK_*``, see
docs/deploy.md); these are only the web server's own. Behind nginx or Caddy on the
same machine, with ``FLASK_TRUSTED_PROXIES=1`` so that client addresses and https
arrive (gunicorn passes X-Forwarded-* on; the app's ProxyFix trusts one hop).
"""

import multiprocessing
import os

wsgi_app = "app:create_app()"
bind = os.environ.get("VERNETZER_BIND", "127.0.0.1:8000")
# Two per core is plenty for a page that answers in milliseconds.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = 2
timeout = 30
graceful_timeout = 20
# Requests are logged by the app (FLASK_LOG_REQUESTS, FLASK_LOG_FORMAT): one format
# for every server; gunicorn's own log keeps errors.
accesslog = None
errorlog = "-"
# X-Forwarded-* are read by the app (ProxyFix), not by gunicorn.
forwarded_allow_ips = "127.0.0.1,::1"
preload_app = False
