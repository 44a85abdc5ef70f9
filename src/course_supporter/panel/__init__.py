"""The author panel: a static page and ES modules served at /app, calling the public API."""
