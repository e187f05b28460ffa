"""Bodies of list mails: encoded once per mailing and per line, filled for each
member, and read back by a mail reader exactly as rendered."""

from email import message_from_bytes, policy

from hypothesis import given, settings
from hypothesis import strategies as st

from app.delivery import compose, mime

MARKS = {"name": "vzaaaan", "token": "vzbbbbt"}
# Text as templates, organisers and members produce it: line breaks of every kind,
# spaces and tabs at line ends, long lines, "=" and non-ASCII.
PIECES = st.sampled_from(["\n", "\r\n", "\r", " ", "\t", "=", ".", "a" * 90, "ä", "€",
                          "Grüße ", "x", MARKS["name"], MARKS["token"]])
TEXT = st.lists(PIECES, max_size=60).map("".join)
# A slot is filled as ListMail fills it: a name as the list keeps it (no control
# characters, so no line break; the variant without a name has no name slot) and a
# token, never empty. (Filled with nothing between a lone CR and an LF, a slot would
# join two line breaks into one, which the line-by-line encoding cannot know.)
VALUE = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(text=TEXT, name=VALUE, token=st.from_regex(r"[A-Za-z0-9._-]{1,80}", fullmatch=True))
def test_a_body_encoded_line_by_line_is_the_body_encoded_whole(text, name, token):
    values = {"name": name, "token": token}
    filled = text.replace(MARKS["name"], name).replace(MARKS["token"], token)
    encoded = compose._Body(text, MARKS).fill(values)
    assert encoded == mime.quoted_printable(filled)
    # What a reader shows: the text; its line ends CRLF, whatever they were.
    part = message_from_bytes(b'Content-Type: text/plain; charset="utf-8"\r\n'
                              b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded,
                              policy=policy.SMTP)
    assert b"\r" not in encoded.replace(b"\r\n", b"")
    assert part.get_content() == mime.lines_with_lf(filled).replace("\n", "\r\n")
