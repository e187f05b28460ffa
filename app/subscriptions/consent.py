"""The consent text people agree to when they subscribe.

The text is versioned, not translated through gettext: a consent record must
name the exact words that were shown. Change the text only by adding a version.
"""

CURRENT_VERSION = "2026-11"

TEXTS = {
    "2026-11": {
        "de": (
            "Ich möchte Einladungen zu den Treffen und Informationen der Stadtteilvernetzer "
            "Stuttgart per E-Mail erhalten. Meine Angaben werden nur dafür verwendet. "
            "Ich kann mich jederzeit mit einem Klick in jeder E-Mail abmelden."
        ),
        "en": (
            "I would like to receive invitations to the meetings and news of the "
            "Stadtteilvernetzer Stuttgart by e-mail. My details are used for nothing else. "
            "I can unsubscribe at any time with one click in every e-mail."
        ),
    },
}


def current_text(language: str) -> str:
    texts = TEXTS[CURRENT_VERSION]
    return texts.get(language, texts["de"])


def version_label(language: str) -> str:
    """What a consent record stores: the version and the language of the text shown."""
    return f"{CURRENT_VERSION}/{language if language in TEXTS[CURRENT_VERSION] else 'de'}"


def text_for(label: str | None) -> str | None:
    """The exact text behind a stored ``version_label``."""
    version, _, language = (label or "").partition("/")
    return TEXTS.get(version, {}).get(language)
