"""What the tests of the findings table share."""

import re


def codes_in(response) -> list[str]:
    """The finding codes of the table's rows, in the order shown."""
    return re.findall(r'href="/findings/([A-Z]{2}-\d{3})/"', response.content.decode())
