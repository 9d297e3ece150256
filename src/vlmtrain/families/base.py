"""The model-family contract: what shared code (collator, run, check, predict) asks of a family.

One package per family, `vlmtrain/families/<name>/`, builds a `Family` from data: its names and quirks
(the fields below), its header rule (`rule`, a `TokenRule` from its tokens.py) and its tiny model
(`tiny`, a `TinyModel` from its tiny.py), to which the contract delegates. A family defines a subclass
only where its behaviour really differs (a template that needs its own rendering, a prefix-LM without
a chat template). Shared code reaches a family only through these fields and methods, never by probing
attributes or branching on its name. The default `encode_one` works for every family whose processor
takes a chat-template text plus images (Qwen2-VL, Idefics3, LLaVA, Gemma3, Mllama, ...):

    record {"id": "r1", "messages": [{"role": "user", "content": [{"type": "image", "text": None},
            {"type": "text", "text": "What is it?"}]}, {"role": "assistant", "content": [...]}],
            "images": [<PIL.Image> | {"bytes": b"...", "path": "a.png"}]}
      -> {"input_ids": LongTensor[1, T], "attention_mask": [1, T], "labels": [1, T],
          "pixel_values": ..., <family extras: image_grid_thw, token_type_ids, cross_attention_mask, ...>}

Labels: -100 except the assistant turns' tokens and their end-of-turn token. Assistant spans are found by
rendering the chat template incrementally (prefix up to each assistant turn with the generation prompt,
then through that turn), so no per-family string search; the spans are mapped onto tokens with the fast
tokenizer's offsets and carried over the processor's image expansion by aligning the text segments between
image-token runs (see `align_labels`).
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vlmtrain.encoding.align import IGNORE_INDEX, align_labels, space_ids
from vlmtrain.encoding.batch import collate_features
from vlmtrain.encoding.expansion import Expansion, TokenRule, any_size_taken, image_token_placeholder
from vlmtrain.encoding.parts import refuse_parts
from vlmtrain.encoding.records import (
    check_image_count,
    check_video_count,
    decode_images,
    to_template_messages,
)
from vlmtrain.encoding.template_date import pin_template_date, render_template
from vlmtrain.encoding.video import RESIZED, VideoRule, configure, load_video, plan_video, video_header
from vlmtrain.errors import VlmTrainError
from vlmtrain.families.real_template import TEMPLATE_FILE, RealTemplate
from vlmtrain.tiny.common import TinyModel

__all__ = [
    "IGNORE_INDEX",
    "LM_PROJ_NAMES",
    "Family",
    "WholeConversationFamily",
    "lm_only_targets",
    "render_template",
    "to_template_messages",
]

# tokenizer -> {token names: ids}: weak-keyed, so an entry goes with its tokenizer.
_IMAGE_IDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
LM_PROJ_NAMES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def lm_only_targets(language_model: str, names=LM_PROJ_NAMES) -> str:
    r"""The one LoRA target builder: a regex that peft full-matches against module names, covering only
    the projections `names` inside the language model `language_model`, never the vision tower's
    q/k/v (CLIP, SigLIP, Idefics3 and Mllama towers use the same names).

        lm_only_targets("model.language_model", ["q_proj", "v_proj"])
          -> r"model\.language_model\..*\.(q_proj|v_proj)"
    """
    return rf"{re.escape(language_model)}\..*\.({'|'.join(re.escape(n) for n in names)})"


@dataclass
class Family:
    """A model family: module names, special tokens and processor quirks. Fields are plain data.

    Module-name prefixes are those of `named_modules()` on the loaded model class (e.g.
    "model.visual", "model.language_model"); `lm_layers` is the decoder-layer ModuleList path.
    """

    name: str
    model_types: tuple[str, ...]
    image_token: str
    fsdp_wrap_classes: tuple[str, ...]
    model_class: str  # transformers class name
    processor_class: str  # transformers class name
    tiny: TinyModel  # the family's tiny.py `TINY`: builder and end-of-turn of its random-weight model
    # The header rule (tokens.py `RULE`): `vlmtrain check` counts tokens from image sizes with it. None:
    # no rule, records are counted with the real processor (`count_unsupported` says so).
    rule: TokenRule | None = None
    # Module-name prefixes; the defaults are transformers' common layout (LLaVA, Gemma3, Mistral3, ...).
    vision_tower: str = "model.vision_tower"
    projector: str = "model.multi_modal_projector"
    language_model: str = "model.language_model"
    # Tokens besides pad that never get a label (image placeholders and their delimiters).
    image_related_tokens: tuple[str, ...] = ()
    image_related_pattern: str | None = None  # regex over the tokenizer's added tokens, e.g. <row_1_col_2>
    # LoRA's default targets: these projections inside `language_model` (`lora_target_modules`).
    lora_projections: tuple[str, ...] = LM_PROJ_NAMES
    multi_turn: bool = True
    supports_flash_attention_2: bool = True  # Mllama's cross-attention has no FA2 path
    supports_text_only: bool = True  # rows without images (PaliGemma's processor refuses them)
    supports_system: bool = (
        True  # a system turn (Molmo2's template raises on one): refused by record if False
    )
    # The processor class itself requires torchvision (PixtralProcessor), whatever its image backend:
    # without it the family cannot load and says so instead of falling back to a PIL-only processor.
    needs_torchvision: bool = False
    # Templates that write no end-of-turn after an answer (llava-1.5-hf: "ASSISTANT: text " then "USER:";
    # GLM-4.1V: the next turn's "<|user|>"). The training text stays the template's render token for
    # token, so the tokens before every answer are the real inference prompt; the stop the model learns:
    # - `eos_after_final_answer`: the tokenizer's EOS is appended after the final answer, that is after the
    #   whole render (its trailing whitespace dropped), which changes no prefix, and trained;
    # - `history_stop`: what the template writes right after an earlier answer when it is a token the
    #   checkpoint stops generating on (GLM: "<|user|>"): trained with the answer where it follows it.
    #   "": earlier answers train without a stop. Each such family says why in its docstring.
    eos_after_final_answer: bool = False
    history_stop: str = ""
    # Keys whose dim 0 is the row (not the image): rows without images get zeros so the batch stays aligned.
    per_row_keys: tuple[str, ...] = ()
    processor_kwargs: dict[str, Any] = field(default_factory=dict)
    # The token count does not depend on image size (PaliGemma): the processor fallback of `vlmtrain
    # check` may feed 32x32 stand-ins instead of decoding every image.
    image_counts_size_independent: bool = False
    # model_type -> transformers class where one family spans several (Qwen3-VL dense and MoE);
    # model types not listed use `model_class`.
    model_classes: dict[str, str] = field(default_factory=dict)
    # Sequence packing (`vlmtrain.packing`): "text" -> several samples share a row, position ids restart at
    # each sample and transformers' packed-sequence masking keeps them apart; "mrope" -> the same with the
    # model's own 3-row M-RoPE ids per sample plus the text row (4 rows). None: the family cannot be packed
    # exactly, and `packing_refusal` says why (shown when a config asks for `packing: true`).
    packing: str | None = "text"
    packing_refusal: str = ""
    # "mrope" packing: the transformers class whose get_rope_index builds the M-RoPE rows
    # (encoding/mrope.py), per model type where one family spans several, as `model_class(es)`.
    rope_index_class: str | None = None
    rope_index_classes: dict[str, str] = field(default_factory=dict)
    # The video rule (tokens.py `VIDEO`, see encoding/video.py): frames sampled and resized as the family's
    # video processor does, from the container header. None: video parts are refused (`refuse_parts`).
    video: VideoRule | None = None
    video_refusal: str = ""  # why a family without a video rule has none, said when it refuses a video part
    # Image-processor backends transformers has for this family: LFM2-VL's exists only torchvision-backed.
    image_backends: tuple[str, ...] = ("torchvision", "pil")
    # The published chat template of a checkpoint the family claims (real_template.py): the tiny model
    # carries it verbatim (`build_tiny`) and every family test renders it. None: no published template
    # verified here, so the tiny model carries its own and the README says "unverified".
    template: RealTemplate | None = None
    # How content reaches the chat template, per role, as the real template reads it: the roles listed
    # get their text parts joined into one string (templates that write `{{ content }}` or `content|trim`
    # there print a list of parts as a Python list); every other role gets typed parts. An image in a
    # string role is refused (the template has no place for it).
    string_content_roles: tuple[str, ...] = ()
    # Roles whose text parts are joined into one text part: the real template reads only
    # `content[0]['text']` there and takes no string (Mistral Small 3.1's system turn). An image in such a
    # role is refused as in a string role.
    one_part_roles: tuple[str, ...] = ()
    # The template's switches as training and prediction render it (Qwen3.5: {"enable_thinking": False});
    # tests compare the training prefix with the real template's inference prompt under the same ones.
    template_kwargs: dict[str, Any] = field(default_factory=dict)

    def derive(self, cls: type[Family] | None = None, **changes) -> Family:
        """A sibling family (Qwen2.5-VL from Qwen2-VL): this one's fields with `changes`, built as `cls`
        (a subclass that overrides behaviour) or as this family's own class. `template` is a checkpoint's,
        not a lineage's: a sibling has none unless it names its own."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.init and f.name != "template"}
        return (cls or type(self))(**{**values, **changes})

    @property
    def lora_target_modules(self) -> str:
        """LoRA's default targets: `lora_projections` inside the language model only (`lm_only_targets`)."""
        return lm_only_targets(self.language_model, self.lora_projections)

    @property
    def lm_layers(self) -> str:
        """The language model's decoder-layer ModuleList: "<language_model>.layers" in every family."""
        return f"{self.language_model}.layers"

    @property
    def template_note(self) -> str:
        """Whose chat template the tiny model carries, for the README's family table and
        `make-tiny-model --help`: "Qwen/Qwen2-VL-7B-Instruct (<source>)" or "unverified" (PaliGemma
        overrides it: its checkpoint publishes no chat template)."""
        return self.template.describe() if self.template is not None else "unverified"

    @property
    def tiny_end_of_turn(self) -> str:
        """What the tiny model's template closes an assistant turn with, or the EOS appended after a
        record's final answer (`eos_after_final_answer`): the labels of that answer end with it."""
        return self.tiny.end_of_turn

    @property
    def history_end_of_turn(self) -> str:
        """What the labels of an earlier answer end with when a user turn follows it: the template's own
        end-of-turn, or where the template writes none, `history_stop` ("" for none)."""
        return self.history_stop if self.eos_after_final_answer else self.tiny_end_of_turn

    # ---- packing -------------------------------------------------------------------------------
    def packed_position_ids(self, feat: dict, model_config=None):
        """Position ids of one encoded sample as it sits in a packed row, restarting at 0:
        {"input_ids": [1, T], ...} -> LongTensor[1, T] = [[0, 1, ..., T-1]] (families with 1-D RoPE).
        "mrope" families return [4, T]: the text row, then the model's temporal/height/width rows."""
        import torch

        if self.packing == "mrope":
            from vlmtrain.encoding.mrope import position_ids

            model_type = model_config.model_type if model_config is not None else None
            rope_index_class = self.rope_index_classes.get(model_type, self.rope_index_class)
            return position_ids(rope_index_class, feat, model_config)
        return torch.arange(feat["input_ids"].shape[1]).unsqueeze(0)

    # ---- loading -------------------------------------------------------------------------------
    def load_processor(
        self, path, image_backend: str | None = None, template_date: str | None = None, video_settings=None
    ):
        """The family's processor class (AutoProcessor can silently return a bare tokenizer).

        image_backend: None -> transformers' choice (the torchvision-backed image processor where
        torchvision is installed, e.g. Qwen2VLImageProcessor, else the PIL one); "pil" or "torchvision"
        forces it (Qwen2VLImageProcessorPil / Qwen2VLImageProcessor). Video processors stay torchvision.
        template_date: the date ("2026-12-07") its chat template sees as today in every render (a run's
        `template_date`); None -> today's, fixed for this processor's life (`encoding.template_date`).
        video_settings: the run's `VideoSettings`, written onto the video processor of a family with a
        video rule (encoding/video.py `configure`); the checkpoint's values where None.
        """
        processor = pin_template_date(self._load_processor(path, image_backend), template_date)
        if self.video is not None and getattr(processor, "video_processor", None) is not None:
            configure(processor.video_processor, video_settings)
        return processor

    def _load_processor(self, path, image_backend: str | None):
        import transformers

        cls = getattr(transformers, self.processor_class)
        kwargs = {}
        missing = "pil" if image_backend == "pil" else "torchvision"
        if missing not in self.image_backends or (
            image_backend is None
            and self.image_backends == ("torchvision",)
            and not transformers.utils.is_torchvision_available()
        ):
            raise VlmTrainError(
                f"{path}: the {self.name} image processor exists only as "
                f"{' or '.join(self.image_backends)}-backed in transformers; "
                + ("install torchvision" if missing == "torchvision" else "use that backend")
            )
        if image_backend is not None:
            try:
                kwargs["image_processor"] = transformers.AutoImageProcessor.from_pretrained(
                    str(path), backend=image_backend
                )
            except (ImportError, OSError, ValueError) as exc:
                raise VlmTrainError(
                    f"{path}: cannot load the {image_backend} image processor: {exc}"
                ) from exc
        try:
            proc = cls.from_pretrained(str(path), **kwargs)
        except (ImportError, OSError) as exc:
            if self.needs_torchvision and isinstance(exc, ImportError):
                raise VlmTrainError(
                    f"{path}: the {self.processor_class} needs torchvision, which is not installed; "
                    f"install it (pip install torchvision) to use the {self.name} family"
                ) from exc
            # No torchvision (every video processor needs it), or a folder saved without a video
            # processor (tiny models before they wrote video_preprocessor_config.json): Qwen2-VL/SmolVLM
            # processors then load as image+text only; others re-raise.
            if "video_processor" not in cls.get_attributes():
                raise VlmTrainError(f"{path}: cannot load the {self.processor_class}: {exc}") from exc
            proc = self.no_video_processor_class().from_pretrained(str(path), **kwargs)
        if not isinstance(proc, cls):
            raise VlmTrainError(f"{path}: expected a {self.processor_class}, got {type(proc).__name__}")
        return proc

    def no_video_processor_class(self):
        import transformers

        from vlmtrain.encoding.compat import no_video_subclass

        return no_video_subclass(getattr(transformers, self.processor_class))

    def wrap_classes(self, model) -> tuple[str, ...]:
        """The one source of FSDP wrap classes (train's auto-wrap config and `vlmtrain.fsdp.shard_model`
        take them from here): the class names present in this model (loaded, or built on the meta
        device), the LM decoder layer's class always, plus those of `fsdp_wrap_classes` found
        (LLaVA-style families carry Llama, Mistral, Granite, ... layers)."""
        present = {type(m).__name__ for m in model.modules()}
        layer = type(model.get_submodule(self.lm_layers)[0]).__name__
        return tuple(dict.fromkeys([layer, *(c for c in self.fsdp_wrap_classes if c in present)]))

    def model_class_for(self, model_type: str | None) -> str:
        """The transformers class name for a checkpoint of `model_type`:

        qwen3_vl family: "qwen3_vl" -> "Qwen3VLForConditionalGeneration",
                         "qwen3_vl_moe" -> "Qwen3VLMoeForConditionalGeneration"
        """
        return self.model_classes.get(model_type, self.model_class)

    def load_model(self, path, **kwargs):
        import transformers

        name = self.model_class
        if self.model_classes:  # read which of the family's model types this checkpoint is
            name = self.model_class_for(transformers.AutoConfig.from_pretrained(str(path)).model_type)
        return getattr(transformers, name).from_pretrained(str(path), **kwargs)

    # ---- tokens --------------------------------------------------------------------------------
    def image_token_ids(self, processor) -> set[int]:
        """Ids of the image token and its delimiters in this processor's tokenizer (a fresh set)."""
        tok = _tokenizer(processor)
        key = (self.image_token, self.image_related_tokens, self.image_related_pattern)
        # get_vocab() builds the whole vocabulary dict (0.3 s for a 49k BPE): once per tokenizer, not
        # once per record (the collator and `vlmtrain check` ask for every record).
        per_tok = _IMAGE_IDS.setdefault(tok, {})
        if key not in per_tok:
            vocab = tok.get_vocab()
            names = {self.image_token, *self.image_related_tokens}
            if self.image_related_pattern:
                pat = re.compile(self.image_related_pattern)
                names |= {t for t in tok.get_added_vocab() if pat.fullmatch(t)}
            per_tok[key] = frozenset(vocab[n] for n in names if n in vocab)
        return set(per_tok[key])

    def mask_token_ids(self, processor) -> set[int]:
        """Pad plus every image-related token id: these never carry a label."""
        ids = self.image_token_ids(processor)
        pad = _tokenizer(processor).pad_token_id
        if pad is not None:
            ids.add(pad)
        return ids

    # ---- token counting (`vlmtrain check`; see vlmtrain.tokens.count) -----------------------------
    # A header rule (`rule`) counts a record's tokens from its image sizes and one text-only tokenization,
    # without decoding pixels. A family without one (rule None): `count_unsupported` says so and the
    # check counts with the real processor (`encode_one`) instead.
    def count_unsupported(self, processor) -> str | None:
        """Why this family's header rule cannot count for `processor` (None: it can).

        Qwen2VLProcessor with do_resize off -> "do_resize is off"
        """
        if self.rule is None:
            return f"the {self.name} family has no header rule"
        return self.rule.unsupported(processor)

    def image_placeholder(self, processor) -> str:
        """What the chat template writes for one image, e.g. "<|image_pad|>" (Gemma3: "<start_of_image>")."""
        return (self.rule.placeholder if self.rule is not None else image_token_placeholder)(processor)

    def expand_image(self, processor, width: int, height: int) -> Expansion:
        """One image of width x height (after EXIF) -> what its placeholder becomes (see `Expansion`).

            Qwen2-VL tiny (28..56 px), 640x480 -> Expansion(text="<|image_pad|>", extra=3, image_tokens=4)

        Raises ValueError for an image the processor itself would refuse (Qwen's aspect-ratio limit).
        Only called when `count_unsupported` is None (or, for the image count alone, when
        `image_counts_size_independent`).
        """
        return self._rule().expand(processor, width, height)

    def expand_images(self, processor, sizes: list[tuple[int, int]]) -> list[Expansion]:
        """All of one record's images ((width, height) each, in order) -> their expansions: each on its
        own, or together where the rule says an image's count depends on the others (`expand_all`:
        LLaVA-OneVision tiles a lone image but not the images of a multi-image record)."""
        return self._rule().expand_record(processor, sizes)

    def rewrite_expanded(self, processor, text: str) -> str:
        """The counted text once every placeholder holds its `expand_image` text: a processor that
        rewrites the text around images does the same here (Idefics2 merges adjacent images'
        delimiters and puts a space after an image followed by a word). Most processors do not."""
        return self._rule().rewrite(processor, text)

    def _rule(self) -> TokenRule:
        if self.rule is None:
            raise NotImplementedError(f"the {self.name} family has no header rule")
        return self.rule

    # ---- tiny model (`vlmtrain make-tiny-model`) ------------------------------------------------
    def build_tiny(self, out_dir: Path) -> None:
        """Write a random-weight model of this family into the existing empty folder `out_dir`:
        config.json, model.safetensors, tokenizer and processor files (loadable by `load_processor` and
        `load_model`), generation stopping at EOS and `tiny_end_of_turn`. Offline; torch seeded by caller.
        A family with a real template (`template`) gets it as chat_template.jinja, byte for byte."""
        self.tiny.build(out_dir)
        if self.template is not None:
            (Path(out_dir) / TEMPLATE_FILE).write_bytes(self.template.path().read_bytes())

    # ---- encoding ------------------------------------------------------------------------------
    def template_messages(self, messages: list[dict]) -> list[dict]:
        """The record's messages as the chat template takes them: typed parts, one string for the roles in
        `string_content_roles`, one text part for those in `one_part_roles` (the one rendering contract;
        see `to_template_messages`)."""
        return to_template_messages(messages, self.string_content_roles, self.one_part_roles)

    def render(self, processor, messages: list[dict], add_generation_prompt: bool) -> str:
        return render_template(
            processor, self.template_messages(messages), add_generation_prompt, **self.template_kwargs
        )

    def assistant_spans(
        self, processor, record: dict, prompt: bool = False
    ) -> tuple[str, list[tuple[int, int]]]:
        """Full rendered text and the [start, end) character spans of each assistant turn (end-of-turn
        token included, trailing whitespace after it excluded).

        The text is the template's render of the whole conversation, with BOS where the tokenizer adds it
        and, for a template that closes no answer (`eos_after_final_answer`), EOS after a final answer:
        nothing is inserted between turns. prompt: the record is a `predict` prompt, so an assistant turn
        at its end is history, not a final answer, and gets no EOS.
        """
        self.refuse_parts(record)
        text, spans = self.render_spans(processor, record)
        tok = _tokenizer(processor)
        if self.history_stop:  # the text stays as rendered; the answer's labels take the stop after it
            spans = [(s, _through_stop(text, e, self.history_stop)) for s, e in spans]
        eos = tok.eos_token
        final = bool(spans) and not prompt and record["messages"][-1]["role"] == "assistant"
        if self.eos_after_final_answer and eos and final and not text[: spans[-1][1]].endswith(eos):
            s, e = spans[-1]
            if text[e:].strip():
                raise VlmTrainError(
                    f"record {record.get('id')!r}: the {self.name} chat template writes {text[e:]!r} after "
                    "the final answer, where the family expects nothing to append its EOS to"
                )
            text = text[:e] + eos
            spans[-1] = (s, e + len(eos))
        # Templates without BOS rely on the tokenizer adding it (Llama-style); we tokenize with
        # add_special_tokens=False to keep offsets exact, so put it in the text ourselves.
        bos = tok.bos_token
        if bos and not text.startswith(bos) and _adds_bos(tok):
            text = bos + text
            spans = [(a + len(bos), b + len(bos)) for a, b in spans]
        return text, spans

    def render_spans(self, processor, record: dict) -> tuple[str, list[tuple[int, int]]]:
        """The training text (the whole conversation's render) and each assistant turn's span in it
        (`assistant_span`), before `assistant_spans` adds what the template does not write (EOS, BOS)."""
        messages = record["messages"]
        text = self.render(processor, messages, add_generation_prompt=False)
        turns = [k for k, msg in enumerate(messages) if msg["role"] == "assistant"]
        return text, [self.assistant_span(processor, record, text, k) for k in turns]

    def assistant_span(self, processor, record: dict, text: str, k: int) -> tuple[int, int]:
        """[start, end) of assistant turn `k` (an index into record["messages"]) in `text`, the whole
        conversation's render: from the end of the render of the turns before it with the generation
        prompt, to the end of the render through it (trailing whitespace excluded)."""
        messages = record["messages"]
        before = self.render(processor, messages[:k], add_generation_prompt=True) if k else ""
        through = self.render(processor, messages[: k + 1], add_generation_prompt=False).rstrip()
        if not (through.startswith(before) and text.startswith(through)):
            raise VlmTrainError(
                f"record {record.get('id')!r}: the {self.name} chat template does not render turns "
                "as a prefix of the whole conversation, so assistant turns cannot be located",
            )
        return len(before), len(through)

    def call_processor(self, processor, text: str, images: list, record: dict, videos=()) -> dict:
        """videos: [(frames, plan), ...] from `load_videos`: the sampled frames go in with their metadata
        and do_sample_frames off, so the processor keeps exactly those frames."""
        kwargs = {
            "text": [text],
            "return_tensors": "pt",
            "add_special_tokens": False,
            **self.processor_kwargs,
        }
        if images:
            kwargs["images"] = self.images_arg(images)
        if videos:
            kwargs["videos"] = [frames for frames, _plan in videos]
            kwargs["video_metadata"] = [plan.metadata() for _frames, plan in videos]
            kwargs["do_sample_frames"] = False
            kwargs.update(RESIZED)  # frames come resized as the video processor resizes them
        check_image_count(record, images)
        for k, image in enumerate(images):  # refused by name, not by the processor's opaque error
            why = self.image_refusal(processor, *image.size)
            if why:
                raise VlmTrainError(f"record {record.get('id')!r} $.images[{k}]: {why}")
        try:
            out = dict(processor(**kwargs))
            out.pop("video_metadata", None)  # the plan's own, handed back; not a model input
            return out
        except (ValueError, TypeError, IndexError) as exc:
            raise VlmTrainError(
                f"record {record.get('id')!r}: the {self.processor_class} refused it: {exc}"
            ) from exc

    def refuse_parts(self, record: dict) -> None:
        """Raise VlmTrainError naming the record at an image in a turn whose content reaches the template as
        a string or as one text part (`string_content_roles`, `one_part_roles`), then at a part this family
        does not train on (`supported_parts`: text, image, and video where it has a video rule), in every
        family: every path that renders a record (labels, counts, prompts) refuses such parts with the
        record's id instead of rendering them as empty text."""
        text_only = (*self.string_content_roles, *self.one_part_roles)
        for i, msg in enumerate(record["messages"]):
            if msg["role"] == "system" and not self.supports_system:
                raise VlmTrainError(
                    f"record {record.get('id')!r} $.messages[{i}]: a system turn; the {self.name} chat template "
                    "takes none (drop it or fold its text into the first user turn)"
                )
            media = [p["type"] for p in msg["content"] if p["type"] in ("image", "video")]
            if msg["role"] in text_only and media:
                raise VlmTrainError(
                    f"record {record.get('id')!r} $.messages[{i}]: {'an image' if media[0] == 'image' else 'a video'} "
                    f"in a {msg['role']} turn; the "
                    f"{self.name} chat template takes {msg['role']} turns as text only"
                )
        refuse_parts(record, self.name, self.supported_parts, {"video": self.video_refusal})

    @property
    def supported_parts(self) -> tuple[str, ...]:
        """The part types this family trains on: text and image, and video where it has a video rule."""
        return ("text", "image", "video") if self.video is not None else ("text", "image")

    def image_refusal(self, processor, width: int, height: int) -> str | None:
        """Why this family's image processor would raise on a width x height image (None: it takes it),
        e.g. Idefics2 splitting a 1 px high image; the header rule raises ValueError with the same text."""
        return (self.rule.refusal if self.rule is not None else any_size_taken)(processor, width, height)

    def images_arg(self, images: list):
        return images

    def encode_one(self, processor, record: dict, train_on_prompt: bool = False) -> dict:
        """One record -> tensors with batch dim 1, labels included (see the module docstring)."""
        images = decode_images(record.get("images") or [], record.get("id"))
        text, spans = self.assistant_spans(processor, record)
        if not spans and not train_on_prompt:
            raise VlmTrainError(
                f"record {record.get('id')!r}: no assistant turn, so nothing to train on; "
                "drop the record or set train_on_prompt"
            )
        videos = self.load_videos(processor, record)
        out = self.call_processor(processor, text, images, record, videos)
        e_ids = out["input_ids"][0].tolist()
        if train_on_prompt:
            image_ids = self.image_token_ids(processor)
            labels = [IGNORE_INDEX if t in image_ids else t for t in e_ids]
        else:
            if videos:  # the text the processor writes around each video's frames (Qwen3-VL's timestamps)
                text, spans = self.expand_videos(
                    processor, text, spans, [plan for _f, plan in videos], record
                )
            labels = self.labels_for(processor, text, spans, e_ids, record)
        import torch

        out["labels"] = torch.tensor([labels], dtype=torch.long)
        return out

    def labels_for(
        self, processor, text: str, spans, e_ids: list[int], record: dict, plain=None
    ) -> list[int]:
        """Labels for `e_ids`, the processor's expanded ids of `text` (`spans` from `assistant_spans`):
        the assistant spans' token ids, -100 elsewhere and on every image token.

        plain: the fast tokenizer's encoding of `text` ({"input_ids", "offset_mapping"}, no special
        tokens) when the caller batched it. Raises VlmTrainError when the labels cannot be carried over
        the processor's expansion (`align.align_labels`). `vlmtrain check` runs this on the header
        rule's expansion (image runs collapsed), so it refuses exactly the records the collator would.
        """
        tok = _tokenizer(processor)
        if plain is None:
            plain = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        u_ids = plain["input_ids"]
        u_labels = [
            tid if any(s <= a < e for s, e in spans) else IGNORE_INDEX
            for tid, (a, _b) in zip(u_ids, plain["offset_mapping"], strict=True)
        ]
        image_ids = self.image_token_ids(processor)
        spaces = space_ids(tok, {*u_ids, *e_ids} - image_ids)
        labels = align_labels(u_ids, u_labels, e_ids, image_ids, record, spaces)
        # Image tokens never train. Padding is masked by position in `collate`, not by id: several
        # families use their end-of-turn token (e.g. </s>) as pad, and that token must keep its label.
        return [IGNORE_INDEX if t in image_ids else lab for t, lab in zip(e_ids, labels, strict=True)]

    def encode_prompt(self, processor, record: dict) -> dict:
        """A prompt record (no final assistant turn) -> processor outputs with batch dim 1, ending where
        the answer starts (the template's generation prompt), for `vlmtrain predict`."""
        self.refuse_parts(record)
        images = decode_images(record.get("images") or [], record.get("id"))
        # The turns exactly as training renders them (BOS where the tokenizer adds it; an assistant turn
        # at the end is history, so no EOS is appended), then the generation prompt: a multi-turn history
        # reads as it did in training.
        text, _spans = self.assistant_spans(processor, record, prompt=True)
        plain = self.render(processor, record["messages"], add_generation_prompt=False)
        prompted = self.render(processor, record["messages"], add_generation_prompt=True)
        if not prompted.startswith(plain):
            raise VlmTrainError(
                f"record {record.get('id')!r}: the {self.name} chat template's generation prompt does not "
                "extend the rendered conversation, so the prompt cannot be built"
            )
        videos = self.load_videos(processor, record)
        return self.call_processor(processor, text + prompted[len(plain) :], images, record, videos)

    # ---- videos (encoding/video.py) --------------------------------------------------------------
    def load_videos(self, processor, record: dict, base_dir: str | None = None) -> list:
        """The record's videos as [(frames uint8 [n, H, W, 3], VideoPlan), ...]: only the frames the
        family's video processor samples, decoded by seeking. VlmTrainError naming the record and video
        for a video part without its video, a family or processor that takes none, or a bad video."""
        check_video_count(record)
        videos = record.get("videos") or []
        if not videos:
            return []
        rid = record.get("id")
        if self.video is None:
            raise VlmTrainError(f"record {rid!r}: has videos; the {self.name} family does not train on video")
        vp = getattr(processor, "video_processor", None)
        if vp is None:
            raise VlmTrainError(
                f"record {rid!r}: the {self.name} processor was loaded without a video processor "
                "(transformers' video processors need torchvision: pip install torchvision)"
            )
        return [
            load_video(v, self.video, vp, f"record {rid!r} $.videos[{k}]", base_dir)
            for k, v in enumerate(videos)
        ]

    def plan_videos(self, processor, record: dict, base_dir: str | None = None) -> list:
        """The record's VideoPlans from the container headers alone (no frame decoded): what `vlmtrain
        check` counts. ValueError (a VideoError) naming nothing; the caller names the record."""
        check_video_count(record)
        if record.get("videos") and self.video is None:
            raise VlmTrainError(
                f"record {record.get('id')!r}: has videos; the {self.name} family does not train on video"
            )
        vp = getattr(processor, "video_processor", None)
        if vp is None and record.get("videos"):
            raise VlmTrainError(
                f"record {record.get('id')!r}: the {self.name} processor was loaded without a video processor "
                "(transformers' video processors need torchvision: pip install torchvision)"
            )
        return [plan_video(self.video, vp, video_header(v, base_dir)) for v in record.get("videos") or []]

    def expand_videos(self, processor, text: str, spans, plans, record: dict):
        """`text` with each video placeholder replaced by what the processor writes for it (runs of video
        tokens collapsed to one, `VideoRule.expand`), and the assistant spans moved with it:
        labels align on this text, as on images' placeholders."""
        before, after = self.video.dropped_around(processor)
        placeholder = before + self.video.placeholder(processor) + after
        pieces = text.split(placeholder)
        if len(pieces) - 1 != len(plans):
            raise VlmTrainError(
                f"record {record.get('id')!r}: the rendered prompt has {len(pieces) - 1} video placeholder(s) "
                f"{placeholder!r} for {len(plans)} video(s)"
            )
        out, spans = pieces[0], list(spans)
        for plan, piece in zip(plans, pieces[1:], strict=True):
            at, grown = len(out), self.video.expand(processor, plan).text
            shift = len(grown) - len(placeholder)
            spans = [(a + shift if a > at else a, b + shift if b > at else b) for a, b in spans]
            out += grown + piece
        return out, spans

    def encode(self, processor, records: list[dict], train_on_prompt: bool = False):
        """Records -> one padded BatchFeature (input_ids, attention_mask, labels, pixel inputs, ...)."""
        feats = [self.encode_one(processor, r, train_on_prompt) for r in records]
        return self.collate(processor, feats)

    def collate(self, processor, feats: list[dict]):
        """Pad per-record encodings into a batch (encoding/batch.py); `per_row_keys` get zeros for rows
        without images."""
        return collate_features(feats, _tokenizer(processor).pad_token_id, self.per_row_keys)


@dataclass
class WholeConversationFamily(Family):
    """A template that writes a turn differently once later turns follow it, so rendering growing
    prefixes cannot locate the turns: Qwen3.5 writes an (empty) think block only on answers after the
    last user query; Gemma 4's generation prompt opens an empty thought channel
    ("<|turn>model\n<|channel>thought\n<channel|>") that no answer in its history holds.

    The record's final answer follows the template's inference prompt for the history before it (that
    history rendered with the generation prompt), so the tokens it is trained after are the ones the model
    is prompted with; every earlier answer stands as the whole conversation's render writes it (history
    form), found there by `assistant_span`. A record that does not end with an answer (a `predict`
    prompt) is the whole render.
    """

    def render_spans(self, processor, record):
        import os

        messages = record["messages"]
        text = self.render(processor, messages, add_generation_prompt=False)
        turns = [k for k, msg in enumerate(messages) if msg["role"] == "assistant"]
        if turns and turns[-1] == len(messages) - 1 and turns[-1] > 0:
            last = turns[-1]
            history = self.render(processor, messages[:last], add_generation_prompt=False)
            prompt = self.render(processor, messages[:last], add_generation_prompt=True)
            if not (text.startswith(history) and prompt.startswith(history)):
                raise VlmTrainError(
                    f"record {record.get('id')!r}: the {self.name} chat template does not render the turns "
                    f"before the last answer as a prefix of the whole conversation"
                )
            turn = text[len(history) :]  # the last answer as the whole render writes it, with its opener
            opener = os.path.commonprefix([prompt[len(history) :], turn])
            text = prompt + turn[len(opener) :]
        return text, [self.assistant_span(processor, record, text, k) for k in turns]

    def assistant_span(self, processor, record, text, k):
        """Assistant turn k starts after what the template writes before it (the render of messages[:k],
        a prefix of the whole render) plus the part of the generation prompt the text repeats there
        ("<|im_start|>assistant\n"; the whole prompt before the final answer), and ends with its
        end-of-turn (`tiny_end_of_turn`, the real template's)."""
        import os

        messages = record["messages"]
        before = self.render(processor, messages[:k], add_generation_prompt=False) if k else ""
        prompt = self.render(processor, messages[:k], add_generation_prompt=True)[len(before) :]
        if not text.startswith(before) or not prompt:
            raise VlmTrainError(
                f"record {record.get('id')!r}: the {self.name} chat template does not render the turns "
                f"before assistant turn {k} as a prefix of the whole conversation"
            )
        start = len(before) + len(os.path.commonprefix([prompt, text[len(before) :]]))
        end = text.find(self.tiny_end_of_turn, start)
        if end < 0:
            raise VlmTrainError(
                f"record {record.get('id')!r}: assistant turn {k} is not closed by {self.tiny_end_of_turn}"
            )
        return start, end + len(self.tiny_end_of_turn)


def _through_stop(text: str, end: int, stop: str) -> int:
    """The end of `stop` where it follows `text[:end]` after whitespace only, else `end`:
    ("<|assistant|>\nHi!<|user|>\nThanks", 17, "<|user|>") -> 25."""
    at = len(text) - len(text[end:].lstrip())
    return at + len(stop) if text.startswith(stop, at) else end


def _adds_bos(tok) -> bool:
    ids = tok("a", add_special_tokens=True)["input_ids"]
    return bool(ids) and ids[0] == tok.bos_token_id


def _tokenizer(processor):
    return getattr(processor, "tokenizer", processor)
