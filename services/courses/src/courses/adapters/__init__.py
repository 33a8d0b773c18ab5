"""Adapters of courses: event codec, repositories, projections, queries, tables."""
