"""Model families (adapters), presets of real and tiny checkpoints, and offline loading."""
