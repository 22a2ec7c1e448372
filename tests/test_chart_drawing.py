"""Charts drawn from the process-wide store (ui.charts.theme.drawn / show): the spec a session gets is
the one Streamlit's altair_chart makes of the same chart, built once per content and presenter mode."""

from __future__ import annotations

import json

import polars as pl
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from ui.charts import theme

FRAME = pl.DataFrame({"rail": ["baseline", "fullstack"], "value": [3.0, 1.5]})


def _digest(*args: object) -> str:
    return theme.drawn(lambda *a: None)(*args).digest  # type: ignore[arg-type]


def test_digest_follows_content_not_identity() -> None:
    same = pl.DataFrame({"rail": ["baseline", "fullstack"], "value": [3.0, 1.5]})
    assert _digest(FRAME, "title") == _digest(same, "title")
    assert _digest(FRAME, "title") != _digest(FRAME.with_columns(value=pl.Series([3.0, 1.6])), "title")
    assert _digest(FRAME, "title") != _digest(FRAME.rename({"value": "share"}), "title")
    assert _digest(FRAME, "title") != _digest(FRAME.with_columns(pl.col("value").cast(pl.Float32)), "title")
    assert _digest(FRAME, "title") != _digest(FRAME, "other title")
    assert _digest(FRAME, None) != _digest(FRAME, FRAME)
    assert _digest(FRAME.head(0)) != _digest(FRAME.head(0).rename({"rail": "x"}))
    nested = pl.DataFrame({"xs": [[1, 2], [3]]})
    assert _digest(nested) != _digest(pl.DataFrame({"xs": [[1, 2], [4]]}))
    with pytest.raises(TypeError, match="no digest"):
        _digest(object())


def _script() -> None:
    import altair as alt
    import polars as pl
    import streamlit as st

    from ui.charts import theme

    def build(frame: pl.DataFrame, title: str) -> alt.Chart:
        st.session_state["builds"] = st.session_state.get("builds", 0) + 1
        return alt.Chart(frame, title=title).mark_bar().encode(x="value:Q", y="rail:N", color=theme.rail_color())

    frame = pl.DataFrame({"rail": ["baseline", "fullstack"], "value": [3.0, st.session_state.get("v", 1.5)]})
    theme.show(theme.drawn(build)(frame, "t"))
    theme.show(theme.drawn(build)(frame.clone(), "t"))  # equal content: the stored spec
    st.altair_chart(theme.themed(build(frame, "t")), width="stretch")  # Streamlit's own path, for comparison


def _charts(at: AppTest) -> list[tuple[dict, list[pa.Table]]]:
    return [(json.loads(c.proto.spec), [pa.ipc.open_stream(d.data.data).read_all() for d in c.proto.datasets])
            for c in at.get("vega_lite_chart")]


def test_show_sends_what_altair_chart_sends_and_builds_once_per_content_and_mode() -> None:
    at = AppTest.from_function(_script).run()
    assert not at.exception
    ours, again, streamlit_own = _charts(at)
    assert ours == again == streamlit_own
    assert ours[1][0].column("value").to_pylist() == [3.0, 1.5]
    assert at.session_state["builds"] == 2  # one drawn build for both calls, one for Streamlit's own chart
    at.session_state["v"] = 2.5
    at.run()
    assert at.session_state["builds"] == 4  # new data: built again
    assert _charts(at)[0][1][0].column("value").to_pylist() == [3.0, 2.5]
    at.query_params["present"] = "1"
    at.run()
    spec = _charts(at)[0][0]
    assert at.session_state["builds"] == 6  # presenter mode has its own spec (its font sizes)
    assert spec["config"]["axis"]["labelFontSize"] == theme.SIZES[True]["label"]


def test_drawing_leaves_the_stored_spec_as_it_was() -> None:
    """The stored spec is shared by every session's render (only its top level is copied): drawing it must
    not change it, or the next session would get another chart."""
    import copy

    from ui import cache

    at = AppTest.from_function(_script).run()
    assert not at.exception
    stored = [e.value for k, e in cache.STORE.entries.items() if isinstance(k, tuple) and k and k[0] == theme._OWNER]
    assert stored
    before = [copy.deepcopy(e) for e in stored]
    at.run()
    at.run()
    assert not at.exception
    assert [copy.deepcopy(e) for e in stored] == before
    assert _charts(at)[0] == _charts(at)[1]
