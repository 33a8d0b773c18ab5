"""The platform shared library (DESIGN §2, §4, §7): no business rules live here."""
