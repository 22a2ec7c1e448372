"""Run in a fresh process by tests/test_runtime_fix.py: one real Streamlit session (AppSession, its
ScriptRunner threads, the event loop) meets a fragment's tick just after a whole-app run has ended and
before the loop has handled that run's messages. Prints one JSON line: what the browser would receive.

    python tests/runtime_race.py SCRIPT [--fix]
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime import Runtime, RuntimeConfig
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.script_data import ScriptData
from streamlit.runtime.scriptrunner.script_cache import ScriptCache


def _describe(msg: ForwardMsg) -> str:
    kind = msg.WhichOneof("type")
    if kind == "script_finished":
        return "finished:" + ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
    if kind == "delta" and msg.delta.new_element.WhichOneof("type") == "markdown":
        return "markdown:" + msg.delta.new_element.markdown.body
    return str(kind)


async def race(script: str) -> list[str]:
    Runtime(RuntimeConfig(script_path=script, media_file_storage=MemoryMediaFileStorage("/media"),
                          uploaded_file_manager=MemoryUploadedFileManager("/upload")))
    session = AppSession(ScriptData(script, is_hello=False), MemoryUploadedFileManager("/upload"), ScriptCache(), None, {})
    received: list[ForwardMsg] = []

    async def settle() -> None:  # the loop turns; the browser gets whatever the queue holds
        for _ in range(100):
            await asyncio.sleep(0.02)
            received.extend(session.flush_browser_queue())

    session.request_rerun(ClientState(query_string="", page_script_hash=""))
    await settle()
    fragment_id = next(m.auto_rerun.fragment_id for m in received if m.WhichOneof("type") == "auto_rerun")
    received.clear()
    # A whole-app rerun. The loop does not turn until its runner has drawn the page and stopped: a busy
    # server, where the loop lags behind the script threads.
    session.request_rerun(ClientState(query_string="", page_script_hash=""))
    old = session._scriptrunner
    assert old is not None
    old._script_thread.join(10)
    if old._script_thread.is_alive():
        raise RuntimeError("the whole-app run did not end within 10 s")
    # The fragment's timer fires now, as the browser's would.
    session.request_rerun(ClientState(query_string="", page_script_hash="", fragment_id=fragment_id, is_auto_rerun=True))
    await settle()
    session.shutdown()
    await asyncio.sleep(0.05)
    return [_describe(m) for m in received]


def main() -> None:
    script = str(Path(sys.argv[1]).resolve())
    if "--fix" in sys.argv:
        from ui import runtime_fix

        runtime_fix.install()
    print(json.dumps(asyncio.run(race(script))))


if __name__ == "__main__":
    main()
