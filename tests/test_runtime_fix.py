"""ui.runtime_fix against a real Streamlit session: a whole-app run that ends as a fragment's timer
fires reaches the browser whole, and the tick still runs after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ui import runtime_fix

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = '''
import streamlit as st

@st.fragment(run_every=1)
def tick():
    st.markdown("tick")

st.markdown("page start")
tick()
st.markdown("page end")
'''


@pytest.fixture(scope="module")
def app_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("race") / "app.py"
    path.write_text(SCRIPT)
    return path


def _race(script: Path, *flags: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "runtime_race.py"), str(script), *flags],
                         capture_output=True, text=True, timeout=90, env=env, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_without_the_fix_streamlit_drops_the_whole_app_run(app_script: Path) -> None:
    # Why the fix exists. If this fails after a Streamlit upgrade, upstream has mended it: drop ui/runtime_fix.py.
    got = _race(app_script)
    assert "markdown:tick" in got
    assert "markdown:page end" not in got
    assert "finished:FINISHED_SUCCESSFULLY" not in got


def test_with_the_fix_the_whole_app_run_arrives_then_the_tick(app_script: Path) -> None:
    got = _race(app_script, "--fix")
    assert got.count("markdown:page start") == 1 and got.count("markdown:page end") == 1
    done = got.index("finished:FINISHED_SUCCESSFULLY")
    assert got.index("markdown:page end") < done
    assert "markdown:tick" in got[done:] and "finished:FINISHED_FRAGMENT_RUN_SUCCESSFULLY" in got[done:]


def test_install_wraps_once() -> None:
    from streamlit.runtime.app_session import AppSession

    assert runtime_fix.install() is True
    wrapped = AppSession._create_scriptrunner
    assert runtime_fix.install() is True
    assert AppSession._create_scriptrunner is wrapped
    assert getattr(wrapped, "_drcl_waits_for_old_runner", False)
