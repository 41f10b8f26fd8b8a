"""The embedded model organisms (issue 7): architectures, and next their training."""
