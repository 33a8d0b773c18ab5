"""The HTTP API's models, split by concept (one module per capability), as a
Base/Create/Read ladder per resource. Every request model derives from `_base._Request`."""
