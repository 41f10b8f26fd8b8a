"""How a person fetches what horizon reads offline: the Hugging Face command line, ``hf`` (what huggingface_hub 2.x
installs; it has no ``huggingface-cli``). Every message that names a download reads it here."""

from __future__ import annotations

CLI = "hf"


def download_command(repo_id: str, dest: str, *, dataset: bool = False) -> str:
    """The command that downloads ``repo_id`` (a model, or a dataset's files) into the folder ``dest``."""
    kind = " --repo-type dataset" if dataset else ""
    return f"{CLI} download {repo_id}{kind} --local-dir {dest}"
