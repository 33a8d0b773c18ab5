"""The courses service: catalogue, enrolments, progress and answers (R3, R4)."""
