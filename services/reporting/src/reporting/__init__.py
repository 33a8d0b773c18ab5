"""The reporting service: read models of courses' events and statistics over them (R4, R5)."""
