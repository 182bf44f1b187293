"""The GPU code that worker processes run: the LoRA trainer, the captioner of caption jobs
(`captioner`, `tiny_captioner`) and the renderer of generations (`generation`).

Importing this package is cheap and torch-free: `spec`, `progress`, `presets`, `locations`
and `cli` import no heavy libraries, while `trainer` and the modules it uses, `captioner`,
`tiny_captioner` and `generation` load torch, diffusers, transformers and peft on import.
The torch-free parts of captions and generations (specs, styles, sheets) live in
`core.captioning` and `core.generation`, which the daemon imports.
"""
