"""HTTP collector: the baseline and full-stack rails behind a real server (`python -m collector`)."""

VERSION = "0.1.0"
