"""The baseline of bench/web.py: the smallest Flask app, on the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
