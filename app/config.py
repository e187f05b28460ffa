"""Embedded defaults. Every value can be overridden from the environment with the
``FLASK_`` prefix (``FLASK_MAIL_PORT=587``) or in ``.env``; README lists them all."""

DEFAULTS = {
    # Public address of the service, used in every link that leaves it (mails, calendars).
    "BASE_URL": "http://127.0.0.1:5000",
    "SQLALCHEMY_DATABASE_URI": None,  # None: SQLite in the instance folder
    # Mail: the local catcher started by ``flask serve`` listens here.
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_PORT": 8025,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_TIMEOUT": 30,
    "MAIL_DEFAULT_SENDER": "Stadtteilvernetzer Stuttgart <vernetzer@localhost>",
    # List mail (invitations, announcements) may use its own sender address.
    "MAIL_LIST_SENDER": None,
    "MAIL_LIST_ID": "Stadtteilvernetzer Stuttgart <verteiler.vernetzer.localhost>",
    # Where the mailto: of List-Unsubscribe points; mails there are read by organisers.
    "MAIL_UNSUBSCRIBE_ADDRESS": "abmelden@localhost",
    # Local mail catcher (development): SMTP port and where captured mails are kept.
    "MAIL_CATCHER": False,
    "MAIL_CATCHER_DIR": None,  # None: instance/mailcatcher
    # Double opt-in and abuse limits.
    "CONFIRM_TOKEN_MAX_AGE": 7 * 24 * 3600,
    "SUBSCRIBER_LINK_MAX_AGE": 400 * 24 * 3600,  # unsubscribe/preferences links in mails
    "UNCONFIRMED_RETENTION_DAYS": 7,
    "CONFIRM_MAILS_PER_ADDRESS": "3/day",
    "CONFIRM_MAILS_PER_IP": "10/hour",
    "RATELIMIT_STORAGE_URI": "memory://",
    # When meeting mails go out, in days before the meeting.
    "INVITE_BEFORE_DAYS": 21,
    "REMIND_BEFORE_DAYS": 2,
    # Outbox delivery.
    "OUTBOX_MAX_ATTEMPTS": 8,
    "OUTBOX_RETRY_BASE_SECONDS": 60,
    "OUTBOX_HEARTBEAT_EVERY": 10,  # seconds between a sender's heartbeats
    "OUTBOX_HEARTBEAT_TIMEOUT": 60,  # a sender silent this long is taken for dead
    "MAIL_RATE_PER_MINUTE": 0,  # 0: no limit; else at most this many mails a minute
    "BOUNCE_LIMIT": 3,  # hard failures before a subscriber counts as bounced
    # DKIM: sign every mail when selector, domain and key (PEM text) are set.
    "DKIM_SELECTOR": None,
    "DKIM_DOMAIN": None,
    "DKIM_PRIVATE_KEY": None,
    # Meetings: default weekday (Monday is 0), time, and how many meetings pass before
    # a district may host again.
    "MEETING_WEEKDAY": 1,
    "MEETING_START": "18:00",
    "MEETING_END": "20:00",
    "MEETING_NO_REPEAT": 12,
    "SIGNIN_LINK_MAX_AGE": 15 * 60,
    "SIGNIN_MAILS_PER_ADDRESS": "5/hour",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Pages.
    "BABEL_DEFAULT_LOCALE": "de",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
    "LANGUAGES": ["de", "en"],
    "FORCE_HTTPS": False,
    "TRUSTED_PROXIES": 0,  # how many reverse proxies set X-Forwarded-For/-Proto/-Host
    "DISTRICTS_FILE": None,  # None: the Stuttgart districts shipped in app/data
    "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
}
