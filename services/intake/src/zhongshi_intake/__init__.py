"""Intake service: rounds, applications and the applicant-facing timeline."""
