"""Identity service: organisations, users, licences and login (R1, R3, R6, R7)."""
