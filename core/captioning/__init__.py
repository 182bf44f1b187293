"""Automatic captions of dataset images with a BLIP captioner, run by caption worker processes.

Importing this package is cheap and torch-free: `locations`, `spec`, `styles`, `vocab`,
`results` and `cli` import no heavy libraries (the daemon uses them for preflight and to read
a worker's captions), while the worker's `run` loads the captioner, `core.training.captioner`
(torch and transformers).
"""
