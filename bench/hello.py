"""The baseline: a bare Flask app with one route, served exactly like the real one."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
