"""Markdown written by organisers, rendered and then sanitised.

markdown-it does not pass raw HTML through and refuses ``javascript:`` links; nh3
(the Ammonia sanitiser) cleans the result again with an allow-list, so nothing an
organiser types can run in a reader's browser or mail client.
"""

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})

ALLOWED_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "h2", "h3", "h4",
                "blockquote", "code", "pre", "hr"}


def render(text: str | None) -> Markup:
    html = _markdown.render(text or "")
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener nofollow")
    return Markup(clean)
