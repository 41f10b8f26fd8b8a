"""The embedded model organisms (issue 7): small LLaVA- and Qwen2.5-VL-class models trained here on ``synth``.

``config`` (names, training configuration, held-out rows), ``build`` (architectures), ``train`` (resumable
training), ``ship`` (held-out scoring, model card, install into ``weights/``). The shipped checkpoints load
through the ordinary presets (``organism-llava``, ``organism-qwen2.5-vl``; horizon/models/presets.py).
"""
