"""The LoRA trainer run by worker processes.

Importing this package is cheap and torch-free: `spec`, `progress`, `presets`, `locations`
and `cli` import no heavy libraries, while `trainer` and the modules it uses load torch,
diffusers and peft on import.
"""
