"""API documentation pages served without any outside host."""
