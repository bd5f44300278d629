"""Read an admin page's form the way a browser submits it, so tests post only what a user could."""

from html.parser import HTMLParser

NOT_SUBMITTED = {"submit", "button", "image", "reset", "file"}


class _FormFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.data: dict[str, str | list[str]] = {}
        self.textareas: set[str] = set()
        self._select: str | None = None
        self._multiple = False
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name and attributes.get("type", "text") not in NOT_SUBMITTED:
            if attributes.get("type") not in ("checkbox", "radio"):
                self.data[name] = attributes.get("value") or ""
            elif "checked" in attributes:
                self.data[name] = attributes.get("value") or "on"
        elif tag == "select" and name:
            self._select, self._multiple = name, "multiple" in attributes
            self.data[name] = [] if self._multiple else ""
        elif tag == "option" and self._select and "selected" in attributes:
            value = attributes.get("value") or ""
            if self._multiple:
                self.data[self._select].append(value)
            else:
                self.data[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.textareas.add(name)
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def form_data(html: str, *, browser_newlines: bool = True) -> dict:
    """The page's form fields with their current values, without the empty inline templates.

    A browser submits a textarea's line breaks as CRLF whatever the page held (HTML's form
    submission rules); browser_newlines=True does the same, as a real admin user's browser would.
    """
    parser = _FormFields()
    parser.feed(html)
    data = {}
    for name, value in parser.data.items():
        if "__prefix__" in name or name == "csrfmiddlewaretoken":
            continue
        if name in parser.textareas:
            # HTML drops the newline Django writes right after <textarea>.
            value = value.removeprefix("\n")
            if browser_newlines:
                value = value.replace("\r\n", "\n").replace("\n", "\r\n")
        data[name] = value
    return data
