"""Tiny model folders load anywhere: stock `AutoProcessor.from_pretrained` returns the family's processor
class (so other tools can be tested against ours), and the family's own loader works without torchvision."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from vlmtrain.families import NAMES, resolve_family

pytestmark = pytest.mark.train

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


def _takes_video(fam) -> bool:
    import transformers

    return "video_processor" in getattr(transformers, fam.processor_class).get_attributes()


@pytest.mark.parametrize("name", NAMES)
def test_stock_auto_processor_loads_the_family_processor(tiny_model, name):
    from transformers import AutoProcessor

    fam = resolve_family(name)
    if _takes_video(fam) and not HAS_TORCHVISION:
        pytest.skip("every video processor class needs torchvision")
    proc = AutoProcessor.from_pretrained(str(tiny_model(name)))
    assert type(proc).__name__ == fam.processor_class
    assert type(proc).__module__.startswith("transformers.")  # the stock class, not our no-video subclass


@pytest.mark.parametrize("name", [n for n in NAMES if _takes_video(resolve_family(n))])
def test_video_processor_config_is_what_transformers_writes(tiny_model, name):
    """The hand-written JSON (no torchvision needed to write it) equals the real class's own save."""
    if not HAS_TORCHVISION:
        pytest.skip("the video processor class needs torchvision")
    from transformers import AutoVideoProcessor

    path = tiny_model(name) / "video_preprocessor_config.json"
    video = AutoVideoProcessor.from_pretrained(str(path.parent))
    assert video.to_json_string() == path.read_text(encoding="utf-8")
    image = json.loads((path.parent / "processor_config.json").read_text())["image_processor"]
    written = json.loads(path.read_text())
    # the tiny pixel budget (Qwen2-VL, SmolVLM: size; Gemma4: patch and pooling), not the class default
    budget = [k for k in ("size", "patch_size", "pooling_kernel_size") if k in written]
    assert budget and {k: written[k] for k in budget} == {k: image[k] for k in budget}


NO_TORCHVISION = """
import sys
sys.modules["torchvision"] = None  # importlib.util.find_spec now says: not installed
from transformers import AutoProcessor
from transformers.utils import is_torchvision_available
from vlmtrain.errors import VlmTrainError
from vlmtrain.families import resolve_family
assert not is_torchvision_available()
for path in sys.argv[1:]:
    fam = resolve_family(path)
    try:
        proc = fam.load_processor(path)
    except VlmTrainError as exc:  # the image processor or the processor class needs torchvision
        print(fam.name, "refused", "-", " ".join(str(exc).split(": ", 1)[1].split()))
        continue
    try:
        AutoProcessor.from_pretrained(path)
        stock = "loads"
    except ImportError:
        stock = "needs-torchvision"
    print(fam.name, type(proc).__name__, type(proc.image_processor).__name__, stock)
"""


@pytest.mark.slow
def test_family_loader_works_without_torchvision(tiny_model_dirs):
    """Without torchvision the family loader still gives the family's processor (image+text, PIL image
    processors); stock AutoProcessor then needs torchvision only where the processor takes videos. A
    family whose processor class requires torchvision (Mistral3's PixtralProcessor) is refused by name."""
    out = subprocess.run(
        [sys.executable, "-c", NO_TORCHVISION, *map(str, tiny_model_dirs.values())],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()}
    assert set(got) == set(NAMES)
    for name, (proc_class, image_class, *stock) in got.items():
        fam = resolve_family(name)
        if fam.needs_torchvision:
            assert (proc_class, image_class) == ("refused", "-"), name
            assert " ".join(stock) == (
                f"the {fam.processor_class} needs torchvision, which is not installed; install it "
                f"(pip install torchvision) to use the {name} family"
            )
            continue
        if "pil" not in fam.image_backends:
            assert (proc_class, image_class) == ("refused", "-"), name
            assert " ".join(stock) == (
                f"the {name} image processor exists only as torchvision-backed in transformers; "
                "install torchvision"
            )
            continue
        stock = stock[0]
        assert proc_class == fam.processor_class
        assert image_class.endswith("Pil"), (name, image_class)
        assert stock == ("needs-torchvision" if _takes_video(fam) else "loads"), name
