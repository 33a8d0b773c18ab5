"""The HTTP routers of identity, one module per resource; `entrypoints.api` mounts them."""
