"""The live room: a presenter's state shared with learners through one small SQLite store."""

from ui.rooms.live import ROOM_PAGE, drawing, follow, following, publish_if_presenting, room_scenario, room_sidebar
from ui.rooms.panel import poll_box

__all__ = ["ROOM_PAGE", "drawing", "follow", "following", "poll_box", "publish_if_presenting", "room_scenario", "room_sidebar"]
