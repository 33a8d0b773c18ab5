"""Adapters of identity: tables, the event codec and repositories, projections, passwords."""
