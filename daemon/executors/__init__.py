"""Executors run attempts somewhere: local worker processes, or Ray actors on GPU hosts."""
