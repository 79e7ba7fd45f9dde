"""The written report: self-contained, complete, valid, and graceful with missing sections."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from alliance.errors import DataError
from alliance.report import build_tables, render_from_json, render_html, write_report
from alliance.report.notices import group_notices

TABLE_KEYS = ["loadings", "reliability", "therapist-factors", "variance-components", "icc",
              "time-coding", "model-comparison", "fixed-effects", "joint", "recovery", "models"]
FIGURE_KEYS = ["scree", "observed-trajectories", "implied-trajectories", "forest", "caterpillar",
               "individual-trajectories", "residual-diagnostics", "random-effects-qq"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
URL_ATTRIBUTES = {"src", "href", "srcset", "action", "poster", "data", "formaction", "background"}


class Page(HTMLParser):
    """Collects what the tests check: tags, attributes, ids, images, links, nesting errors."""

    def __init__(self) -> None:
        super().__init__()
        self.doctype = ""
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.urls: list[str] = []
        self.order: list[str] = []
        self.text: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
            self.order.append(str(attributes["id"]))
        if tag == "img":
            self.images.append(attributes)
        self.urls.extend(str(value) for name, value in attrs if name in URL_ATTRIBUTES and value)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def html(rendered: Path) -> str:
    return (rendered / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(html: str) -> Page:
    return parse(html)


def test_files_are_written(rendered: Path) -> None:
    assert (rendered / "report.html").is_file()
    for key in FIGURE_KEYS:
        assert (rendered / "figures" / f"{key}.png").stat().st_size > 1000
        assert (rendered / "figures" / f"{key}.svg").read_text(encoding="utf-8").count("<svg") == 1


def test_every_image_is_an_embedded_png(page: Page, rendered: Path) -> None:
    assert len(page.images) == len(FIGURE_KEYS)
    for image in page.images:
        source = str(image.get("src"))
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]).startswith(b"\x89PNG")
        assert image.get("alt")
    first = base64.b64decode(str(page.images[0]["src"]).split(",", 1)[1])
    assert first == (rendered / "figures" / "scree.png").read_bytes()


def test_no_network_references(page: Page, html: str) -> None:
    assert page.urls, "the page has internal links and images"
    for url in page.urls:
        assert not re.match(r"(?i)\s*(https?:|//|ftp:|ws)", url), url
        assert url.startswith(("data:", "#")), url
    style = html[html.index("<style>"): html.index("</style>")]
    assert "@import" not in style
    assert not re.search(r"url\(", style)
    assert "<script" not in html
    assert "<link" not in html


def test_valid_html5_structure(page: Page, html: str) -> None:
    assert page.doctype.lower() == "doctype html"
    assert page.errors == []
    assert page.stack == []
    assert len(page.ids) == len(set(page.ids)), "ids are unique"
    targets = [url[1:] for url in page.urls if url.startswith("#")]
    assert set(targets) <= set(page.ids), "every internal link has a target"
    assert '<html lang="en">' in html and '<meta charset="utf-8">' in html


def test_all_tables_present(page: Page, html: str) -> None:
    for key in TABLE_KEYS:
        assert f"table-{key}" in page.ids
    assert html.count("<table>") == len(TABLE_KEYS)
    for number in range(1, len(TABLE_KEYS) + 1):
        assert f'<p class="table-number">Table {number}</p>' in html
    assert 'class="num bold"' in html, "salient loadings are in bold"


def test_order_banner_findings_warnings_tables_figures_methods(page: Page) -> None:
    expected = ["simulated-data", "findings", "warnings", "tables", "figures", "methods"]
    positions = [page.order.index(name) for name in expected]
    assert positions == sorted(positions)


def test_content(html: str, example_results: dict[str, Any]) -> None:
    assert "These data are simulated (seed 2013)" in html
    assert "illustrative" in html
    for finding in example_results["findings"]:
        assert str(escape(finding)) in html
    count = sum(len(group.notices) for group in group_notices(example_results))
    assert f"Warnings ({count})" in html
    assert "Y<sub>tij</sub> = \u03c0<sub>0ij</sub>" in html
    for entry in example_results["models"]["growth"].values():
        assert entry["formula"] in html


def test_no_identifiers(page: Page) -> None:
    """No therapist (T001) or patient (P0001) labels of the simulated study in the text."""
    text = " ".join(page.text)
    assert not re.search(r"\b[TP]\d{3,4}\b", text)


def test_banner_absent_for_real_data(example_results: dict[str, Any]) -> None:
    meta = {**example_results["meta"], "simulated": False,
            "config": {"title": "Alliance <study> in Oslo"}}
    results = {**example_results, "meta": meta}
    results.pop("recovery")
    html = render_html(results, build_tables(results), [])
    assert "<h1>Alliance &lt;study&gt; in Oslo</h1>" in html
    assert "simulated-data" not in html
    assert "These data are simulated" not in html
    assert "Parameter recovery applies to simulated data only" in html


def test_missing_sections_render_with_notes(tmp_path: Path) -> None:
    write_report({"meta": {"simulated": False, "raters": ["patient", "therapist"]}}, tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    page = parse(html)
    assert page.errors == [] and page.images == []
    assert html.count("Not available:") == len(TABLE_KEYS) + len(FIGURE_KEYS)
    assert "No findings are recorded" in html
    assert list((tmp_path / "figures").iterdir()) == []


def test_a_failed_model_is_shown_not_fatal(example_results: dict[str, Any]) -> None:
    results = json.loads(json.dumps(example_results))
    results["models"]["growth"]["therapist"] = {"formula": "alliance ~ time", "fit": None,
                                                "error": "optimizer diverged"}
    html = render_html(results, build_tables(results), [])
    assert html.count("the model could not be fitted (optimizer diverged)") >= 2  # note + warning
    assert parse(html).errors == []


def test_render_from_json(tmp_path: Path, example_results: dict[str, Any]) -> None:
    small = {key: value for key, value in example_results.items() if key != "figures"}
    source = tmp_path / "results.json"
    source.write_text(json.dumps(small), encoding="utf-8")
    render_from_json(source, tmp_path / "out" / "report")
    html = (tmp_path / "out" / "report" / "report.html").read_text(encoding="utf-8")
    assert "Factor Loadings of the Quality of Personal Life Items" in html
    assert len(parse(html).images) == 1  # the scree plot; trajectories etc. need `figures`


def test_unreadable_results_are_data_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match=r"broken.json is not valid JSON \(line 1"):
        render_from_json(broken, tmp_path / "out")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DataError, match="holds a JSON list, not an object"):
        render_from_json(listed, tmp_path / "out")
    with pytest.raises(DataError, match="cannot read results file"):
        render_from_json(tmp_path / "absent.json", tmp_path / "out")
    with pytest.raises(DataError, match="does not exist; create it"):
        write_report({}, tmp_path / "nowhere")
    with pytest.raises(DataError, match="must be a dictionary"):
        write_report([], tmp_path)  # type: ignore[arg-type]
