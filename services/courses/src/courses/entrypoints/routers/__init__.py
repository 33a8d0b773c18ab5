"""The HTTP routers of courses, one module per resource; `entrypoints.api` mounts them."""
