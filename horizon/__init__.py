"""horizon: benchmark suite and regression harness for training-free visual-token pruning in VLLMs."""

__version__ = "0.1.0"
