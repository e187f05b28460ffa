"""Markdown written by organisers, rendered and then sanitised.

markdown-it does not pass raw HTML through and refuses ``javascript:`` links; nh3
(the Ammonia sanitiser) cleans the result again with an allow-list, so nothing an
organiser types can run in a reader's browser or mail client. A single line break
stays one (volunteers write "Viele Grüße" and their name on the next line). For the
text part of a mail the same Markdown becomes plain prose, links written out.
"""

import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True,
                                     "breaks": True})
# A text that greets its readers itself needs no "Hallo," in front.
_GREETING = re.compile(r"\s*(hallo|liebe|lieber|hi|guten (morgen|tag|abend)|moin|servus|"
                       r"dear|hello)\b", re.IGNORECASE)

ALLOWED_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "h2", "h3", "h4",
                "blockquote", "code", "pre", "hr"}


def render(text: str | None) -> Markup:
    html = _markdown.render(text or "")
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener nofollow")
    return Markup(clean)


def plain(text: str | None) -> str:
    """The Markdown as plain prose for a mail's text part: no ``**`` or ``[…](…)``,
    each link as "text <address>" (the delimiters of RFC 3986, appendix C, which mail
    programs honour), line breaks kept, paragraphs apart, list items one per line."""
    out, line, link, prefix, in_list = "", [], None, "", False
    for token in _markdown.parse(text or ""):
        if token.type == "list_item_open":
            prefix = "- " if token.markup in "-*+" else f"{token.info}. "
        elif token.type == "inline":
            for child in token.children or []:
                if child.type in ("text", "code_inline"):
                    line.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    line.append("\n")
                elif child.type == "link_open":
                    link = child.attrGet("href")
                elif child.type == "link_close" and link:
                    line.append(f" <{link}>")
                    link = None
            separator = "\n" if prefix and in_list else "\n\n"
            out += (separator if out else "") + prefix + "".join(line)
            line, in_list, prefix = [], bool(prefix), ""
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            in_list = False
        elif token.type in ("code_block", "fence"):
            out += ("\n\n" if out else "") + token.content.rstrip("\n")
            in_list = False
    return out


def for_mail(text: str | None) -> dict:
    """A text written for a mail: its HTML and plain parts, and whether the mail
    still needs a greeting in front of it."""
    return {"body": plain(text), "body_html": render(text),
            "greeting": not _GREETING.match(text or "")}
