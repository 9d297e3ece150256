"""Llama4ForConditionalGeneration's language backbone for trl's fused LM head.

trl 1.16's SFTTrainer patches the model so the loss is computed in chunks from the backbone's hidden
states: it calls `model.base_model(**inputs)` and reads `.last_hidden_state`. Transformers' other VLMs keep
their backbone at `model.model` (the `base_model_prefix`); Llama4ForConditionalGeneration has none (its
`vision_model`, `multi_modal_projector` and `language_model` sit on the top model), so `base_model` is the
whole model and the trainer fails. `with_backbone` gives the loaded model a `base_model` that does what
the model's own forward does before the LM head:

    embeddings of input_ids, the vision features projected into the `<|patch|>` positions,
    then the text model (language_model.model) -> MoeModelOutputWithPast(last_hidden_state=...)

Nothing is registered as a module: parameter names, state dicts, saving and loading stay the model's own.
"""

from __future__ import annotations

import functools


class Backbone:
    """Callable backbone over a Llama4ForConditionalGeneration (its modules, looked up on every call, since
    PEFT and FSDP replace them after loading)."""

    _tp_plan = None  # read through `base_model` by transformers' tensor/pipeline-parallel checks
    _pp_plan = None

    def __init__(self, model):
        self.model = model

    def __call__(
        self,
        input_ids=None,
        pixel_values=None,
        attention_mask=None,
        position_ids=None,
        inputs_embeds=None,
        **kw,
    ):
        m = self.model
        if inputs_embeds is None:
            inputs_embeds = m.get_input_embeddings()(input_ids)
        if pixel_values is not None:
            features = m.get_image_features(pixel_values=pixel_values, return_dict=True).last_hidden_state
            flat = m.multi_modal_projector(features.view(-1, features.size(-1)))
            flat = flat.to(inputs_embeds.device, inputs_embeds.dtype)
            mask = m.get_placeholder_mask(input_ids, inputs_embeds=inputs_embeds, image_features=flat)
            inputs_embeds = inputs_embeds.masked_scatter(mask, flat)
        return m.language_model.model(
            inputs_embeds=inputs_embeds, attention_mask=attention_mask, position_ids=position_ids, **kw
        )


@functools.cache
def _subclass(cls: type) -> type:
    """`cls` with `base_model` returning the instance's Backbone (same name, so saved configs name `cls`)."""
    return type(cls.__name__, (cls,), {"__module__": cls.__module__, "base_model": property(_backbone)})


def _backbone(self) -> Backbone:
    return self.__dict__["_vlmtrain_backbone"]


def with_backbone(model):
    """The loaded model, its `base_model` now its language backbone (see the module docstring)."""
    model.__dict__["_vlmtrain_backbone"] = Backbone(model)
    model.__class__ = _subclass(type(model))
    return model
