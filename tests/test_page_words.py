"""Every page, in English and in German, speaks words: no program identifier in anything a person sees.

One AppTest session per language walks all pages (the runs are cached across them). From each page it
collects what a person reads: titles, markdown, captions, alerts, metric labels and values, widget labels
and their options, expander and tab labels, table column headers (after st.column_config), and from the
chart specs the titles, axis and legend titles, tooltip titles and the category labels drawn on axes,
legends and facets. It fails on snake_case tokens (option codes of the Scenario model are snake_case),
raw values ("None", "nan"), scientific notation and midnight times; on German pages also on any English
sentence of the catalogue that has a different German text.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest
from test_rooms import AUTH, logged_in

from ui import words
from ui.lessons import lesson_pages

SMALL = {"traffic.visitors": "4000", "traffic.days": "14"}
LANGS = ("en", "de")

SNAKE = re.compile(r"(?<![\w./`@=:-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/`@(-]|\.[a-z])")
RAW = re.compile(r"(?<![\w-])(None|nan|NaN|NaT|null)(?![\w-])|\d\.\d+e[+-]\d+|\b00:00:00\b")
CODE = re.compile(r"`[^`]*`|```.*?```|\]\([^)]*\)|https?://\S+", re.S)  # code spans, link targets, URLs


def _texts(node: object) -> Iterator[str]:
    """What a person reads in this element tree (chart specs aside)."""
    from streamlit.testing.v1.element_tree import Block

    if isinstance(node, Block):
        label = getattr(node, "label", None)
        if isinstance(label, str):
            yield label
        for child in node.children.values():
            yield from _texts(child)
        return
    kind = getattr(node, "type", None)
    if kind in {"code", "json", "empty", "component_instance"}:
        return
    options = getattr(getattr(node, "proto", None), "options", None)
    # A choice widget's value is the Python object behind the chosen option (a code, with format_func):
    # what a person reads is its formatted option, collected from the proto's options below.
    for attr in ("label", "body", "help") if options is not None else ("label", "value", "body", "help"):
        try:
            value = getattr(node, attr, None)
        except Exception:  # some elements compute `value` from widget state
            continue
        if isinstance(value, str):
            yield value
    if kind == "metric":
        yield str(node.proto.delta)
    if options is not None and not isinstance(options, (str, bytes)):
        for option in options:
            yield option if isinstance(option, str) else getattr(option, "content", "") or ""
    if kind == "arrow_data_frame":
        yield from _table_headers(node)


def _table_headers(node: object) -> Iterator[str]:
    config = json.loads(node.proto.columns or "{}")
    for column in node.value.columns:
        conf = config.get(str(column), {})
        if conf.get("hidden"):
            continue
        yield str(conf.get("label") or column)


def _chart_texts(spec: dict, datasets: dict[str, pa.Table]) -> Iterator[str]:
    """Titles, axis/legend/tooltip titles and the category values a chart draws as labels."""

    def walk(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            title = node.get("title")
            if isinstance(title, str):
                yield title
            elif isinstance(title, list):
                yield from (str(t) for t in title)
            elif isinstance(title, dict) and isinstance(title.get("text"), (str, list)):
                yield from ([title["text"]] if isinstance(title["text"], str) else title["text"])
            encoding = node.get("encoding")
            if isinstance(encoding, dict):
                yield from _encoding_texts(encoding, node, datasets)
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    yield from walk(spec)


def _encoding_texts(encoding: dict, view: dict, datasets: dict[str, pa.Table]) -> Iterator[str]:
    data = datasets.get((view.get("data") or {}).get("name", "")) if isinstance(view.get("data"), dict) else None
    if data is None and len(datasets) == 1:
        data = next(iter(datasets.values()))
    for channel, enc in encoding.items():
        for item in enc if isinstance(enc, list) else [enc]:
            if not isinstance(item, dict) or "field" not in item:
                continue
            if channel == "tooltip" and "title" not in item:
                yield str(item["field"])  # a tooltip without a title shows the field's name
            if channel in {"x", "y", "color", "column", "row", "facet", "shape", "strokeDash"} and item.get("type") in {"nominal", "ordinal"}:
                guide_key = {"x": "axis", "y": "axis", "column": "header", "row": "header", "facet": "header"}.get(channel, "legend")
                if guide_key in item and item[guide_key] is None:
                    continue  # no axis / legend drawn: its values are not shown
                guide = item.get(guide_key) or {}
                mapped = str(guide.get("labelExpr", "")) + json.dumps(guide.get("values", ""))
                if data is None or item["field"] not in data.column_names:
                    continue
                for value in set(data.column(item["field"]).to_pylist()):
                    if isinstance(value, str) and f"'{value}'" not in mapped:
                        yield value


def _datasets(element: object) -> dict[str, pa.Table]:
    out = {}
    for named in element.proto.datasets:
        out[named.name] = pa.ipc.open_stream(named.data.data).read_all()
    return out


def shown_texts(at: AppTest) -> list[str]:
    texts = [*_texts(at.main), *_texts(at.sidebar)]
    for chart in at.get("vega_lite_chart"):
        texts.extend(_chart_texts(json.loads(chart.proto.spec), _datasets(chart)))
    return [t for t in texts if t]


def identifiers(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        prose = CODE.sub(" ", text)
        found += [m.group(0) for m in SNAKE.finditer(prose)] + [m.group(0) for m in RAW.finditer(prose)]
    return sorted(set(found))


def english_left(texts: list[str]) -> list[str]:
    """English catalogue sentences (three words or more, translated differently) on a German page."""
    english, german = words.catalogue("en"), words.catalogue("de")
    page = "\n".join(texts)
    left = []
    for key, text in english.items():
        if german.get(key, text) == text:
            continue  # product names and the like read the same in both
        for literal, *_ in string.Formatter().parse(text):
            piece = literal.strip(" .,:;()—-·\n")
            if piece in german[key]:
                continue  # the German says it too: a product name ("Consent Mode"), a format
            if sum(w.isalpha() for w in piece.split()) >= 3 and piece in page:
                left.append(f"{key}: {piece}")
    return left


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> Iterator[dict[str, AppTest]]:
    with pytest.MonkeyPatch.context() as env:
        # A presenter's Runs and Room pages: their own runs folder and room store, not the checkout's.
        env.setenv("DRCL_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
        env.setenv("DRCL_ROOMS_DB", str(tmp_path_factory.mktemp("rooms") / "rooms.sqlite"))
        out = {}
        for lang in LANGS:
            at = logged_in(AppTest.from_file("../app.py", default_timeout=180))  # the presenter sees the most words
            at.secrets["auth"] = AUTH
            for key, value in {**SMALL, "lang": lang}.items():
                at.query_params[key] = value
            with words.speaking(lang):  # AppTest calls the widgets' format_func in this thread too
                out[lang] = at.run()
            assert not at.exception
        yield out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", lesson_pages())
def test_page_shows_words_not_identifiers(sessions, lang, page):
    at = sessions[lang]
    with words.speaking(lang):
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    texts = shown_texts(at)
    assert len(texts) > 5, texts  # the page drew something to read
    assert at.session_state[words.SESSION_KEY] == lang
    assert identifiers(texts) == [], f"{page} ({lang}) shows identifiers"
    if lang == "de":
        assert english_left(texts) == [], f"{page} (de) still speaks English"


def test_the_checks_catch_what_they_are_for():
    """The detectors themselves: a check that finds nothing proves nothing."""
    assert identifiers(["Banner: reject_first_layer", "rate 2.11e+16", "None", "2026-11-02 00:00:00"]) == \
        ["00:00:00", "2.11e+16", "None", "reject_first_layer"]
    assert identifiers(["Run `make run`", "see [docs](https://x.org/a_b)", "file scenario_json.toml",
                        "Reject on the first layer", "64,3 %", "Nov 2, 2026"]) == []
    spec = {"encoding": {"x": {"field": "event", "type": "nominal"}, "tooltip": [{"field": "drop_off"}]}, "data": {"name": "d"}}
    data = {"d": pa.table({"event": ["page_view", "Kauf"]})}
    assert sorted(_chart_texts(spec, data)) == ["Kauf", "drop_off", "page_view"]
    spec["encoding"]["x"]["axis"] = {"labelExpr": "datum.label == 'page_view' ? 'Page view' : datum.label"}
    spec["encoding"]["tooltip"][0]["title"] = "Drop-off"
    assert sorted(_chart_texts(spec, data)) == ["Drop-off", "Kauf"]
