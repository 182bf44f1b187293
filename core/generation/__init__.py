"""Generating images with a trained LoRA, run by warm worker processes.

Importing this package is cheap and torch-free: `spec`, `cancel` and `sheet` import no heavy
libraries (the daemon builds specs with `spec`), while the renderer,
`core.training.generation`, which `worker` loads with its first job, imports torch and
diffusers.
"""
