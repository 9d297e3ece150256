"""The real chat template of a released checkpoint, as a family's spec names it (`Family.template`).

    RealTemplate("Qwen/Qwen2-VL-7B-Instruct", "Liger-Kernel test config; openvino.genai").text()
      -> the published template string, byte for byte (vlmtrain/real_models/Qwen--Qwen2-VL-7B-Instruct/
         chat_template.jinja, package data; fixtures/real_models links to the same folder)

The files, their sources, how each was taken and their sha256 are in vlmtrain/real_models/ORIGIN.md
(tests/train/test_real_templates.py checks every file against it). A family's tiny model carries its
real template verbatim (`Family.build_tiny`), so every family test renders what the real model renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

TEMPLATE_FILE = "chat_template.jinja"
# The template note of a family whose checkpoints publish no chat template at all (PaliGemma: a prefix-LM
# whose processor builds the prompt), as opposed to "unverified" (a template exists but is not held here).
NO_CHAT_TEMPLATE = "no chat template (processor prefix)"


@dataclass(frozen=True)
class RealTemplate:
    checkpoint: str  # the Hub id whose published template this is, e.g. "Qwen/Qwen2-VL-7B-Instruct"
    source: str  # where the bytes were taken from, in short (ORIGIN.md has the commits and paths)

    @property
    def folder(self) -> str:
        """The fixture folder: the Hub id with "/" replaced by "--"."""
        return self.checkpoint.replace("/", "--")

    def path(self):
        """The template file inside the installed package (a Traversable; a Path in a source checkout)."""
        return resources.files("vlmtrain").joinpath("real_models", self.folder, TEMPLATE_FILE)

    def text(self) -> str:
        """The template exactly as the checkpoint publishes it (read as bytes: no newline translation)."""
        return self.path().read_bytes().decode("utf-8")

    def describe(self) -> str:
        """One line for the README's family table and `make-tiny-model --help`."""
        return f"{self.checkpoint} ({self.source})"
