"""Teleconsult Workstation."""
