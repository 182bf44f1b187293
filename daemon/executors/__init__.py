"""Executors run training attempts somewhere (local processes today, a Ray cluster later)."""
