"""Tiny models, built once per test session (lazily per family), and canonical sample records."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """`tiny_model(family) -> Path` of that family's tiny model; each family is built once per session."""
    from vlmtrain.tiny.make import make_tiny_model

    built = {}

    def get(family: str):
        if family not in built:
            built[family] = make_tiny_model(family, tmp_path_factory.mktemp("tiny") / family)
        return built[family]

    return get


@pytest.fixture(scope="session")
def tiny_model_dirs(tiny_model):
    """Every family's tiny model: {model_type: Path} (builds all of them; prefer `tiny_model`)."""
    from vlmtrain.tiny.make import BUILDERS

    return {name: tiny_model(name) for name in BUILDERS}


@pytest.fixture(scope="session")
def tiny_loaded(tiny_model):
    """`tiny_loaded(family) -> (family, processor, model)`, loaded once per session."""
    from vlmtrain.families import resolve_family

    loaded = {}

    def get(name: str):
        if name not in loaded:
            path = tiny_model(name)
            fam = resolve_family(path)
            loaded[name] = (fam, fam.load_processor(path), fam.load_model(path))
        return loaded[name]

    return get


IMAGE_BACKENDS = ("torchvision", "pil")


@pytest.fixture(params=IMAGE_BACKENDS)
def image_backend(request):
    """Both image-processor backends: "torchvision" (what transformers picks where torchvision is
    installed, e.g. Qwen2VLImageProcessor; skipped without it) and "pil" (Qwen2VLImageProcessorPil)."""
    import importlib.util

    if request.param == "torchvision" and importlib.util.find_spec("torchvision") is None:
        pytest.skip("torchvision is not installed")
    return request.param


@pytest.fixture(scope="session")
def _backend_processors(tiny_model):
    from vlmtrain.families import resolve_family

    loaded = {}

    def get(name: str, backend: str):
        if (name, backend) not in loaded:
            path = tiny_model(name)
            fam = resolve_family(path)
            loaded[name, backend] = (fam, fam.load_processor(path, image_backend=backend))
        return loaded[name, backend]

    return get


@pytest.fixture
def tiny_processor(_backend_processors, image_backend):
    """`tiny_processor(family) -> (family, processor)` with the image processor of `image_backend`
    (the test runs once per backend; skipped for a family transformers has no such image processor for,
    e.g. LFM2-VL's exists only torchvision-backed)."""
    from vlmtrain.families import resolve_family

    def get(name: str):
        fam = resolve_family(name)
        if image_backend not in fam.image_backends:
            pytest.skip(f"{name}: transformers has no {image_backend} image processor for this family")
        return _backend_processors(name, image_backend)

    return get


@pytest.fixture
def image_processor_class(image_backend):
    """`image_processor_class("Qwen2VLImageProcessor")` -> that class for `image_backend` (the PIL one
    is the name + "Pil")."""
    import transformers

    return lambda base: getattr(transformers, base + ("Pil" if image_backend == "pil" else ""))


@pytest.fixture(scope="session")
def _granite_processors():
    return {}


@pytest.fixture
def granite(_granite_processors, image_backend):
    """The real Granite Vision processor (fixtures/granite_vision_processor, LLaVA-NeXT anyres) with the
    image backend under test, loaded once per backend."""
    from tokens_helpers import GRANITE_DIR

    from vlmtrain.families import resolve_family

    if image_backend not in _granite_processors:
        fam = resolve_family("llava_next")
        _granite_processors[image_backend] = fam.load_processor(GRANITE_DIR, image_backend=image_backend)
    return _granite_processors[image_backend]
