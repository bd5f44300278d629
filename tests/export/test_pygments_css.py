"""`manage.py pygments_css`: the code colours, generated at setup time rather than kept in git."""

import re

import pytest

from findings.management.commands.pygments_css import OUTPUT, stylesheet

# Keyword, builtin and comment: SI-001's migration SQL has each of them.
STYLED_CLASSES = ["k", "nb", "c1"]


def test_it_generated_the_stylesheet_at_setup():
    # make run, make serve and make test generate it; a missing or stale file means one did not.
    assert OUTPUT.is_file(), "run `manage.py pygments_css` (make test does) before the tests"
    assert OUTPUT.read_text(encoding="utf-8") == stylesheet()


def test_it_keeps_the_light_and_dark_colours_apart():
    light, dark = stylesheet().split("@media (prefers-color-scheme: dark) {")

    assert ".highlight .k { color: #A90D91 }" in light
    assert ".highlight .k { color: #66D9EF }" in dark
    assert ".highlight .hll { background-color: #49483e }" in dark


def test_it_leaves_the_code_blocks_background_to_the_app():
    assert not re.search(r"^\s*\.highlight\s*\{", stylesheet(), re.MULTILINE)


@pytest.mark.django_db
def test_it_colours_the_code_a_finding_page_highlights(client, viewer, catalogue):
    client.force_login(viewer)

    page = client.get("/findings/SI-001/").content.decode()

    assert '<link rel="stylesheet" href="/static/css/pygments.css">' in page
    [code] = re.findall(r'<div class="highlight">(.*?)</div>', page, re.DOTALL)
    used = set(re.findall(r'<span class="(\w+)"', code))
    light, dark = OUTPUT.read_text(encoding="utf-8").split("@media (prefers-color-scheme: dark)")
    for css_class in STYLED_CLASSES:
        assert css_class in used
        assert f".highlight .{css_class} {{" in light
        assert f".highlight .{css_class} {{" in dark
