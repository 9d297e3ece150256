"""`VlmTrainConfig`: trl's `SFTConfig` plus the keys vlmtrain adds (model, data, method, freezing, images).

Heavy module (imports trl, hence torch and transformers): `vlmtrain.config` validates a YAML file against
`schemas/train_config.schema.json` first and only then builds this dataclass from the checked dict:

    {"model_name_or_path": "models/tiny-qwen2vl", "data_dir": "data/naruto", "method": "lora",
     "learning_rate": 2e-4, ...}  ->  VlmTrainConfig(model_name_or_path=..., learning_rate=0.0002, ...)

Every field added here carries `metadata["help"]` and, where plain types are not enough, `metadata["schema"]`
(a JSON Schema fragment merged into the generated schema by `vlmtrain.schema_gen`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import SFTConfig

from vlmtrain.methods import METHODS

ON_OVERLENGTH = ("drop", "error")


@dataclass
class VlmTrainConfig(SFTConfig):
    """SFTConfig with vlmtrain's model, data and method keys. SFTConfig's own keys keep their meaning."""

    # ---- model and data -------------------------------------------------------------------------
    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Hub id or local folder of a vision-language model (required).",
            "schema": {"type": "string"},
        },
    )
    family: str | None = field(
        default=None,
        metadata={
            "help": "Model family (a config model_type; `vlmtrain make-tiny-model --help` lists them). "
            "Detected from the model's config.json if unset."
        },
    )
    data_dir: str | None = field(
        default=None,
        metadata={
            "help": "Folder of canonical Parquet shards written by vlmdata: train-*.parquet, validation-*.parquet "
            "(required).",
            "schema": {"type": "string"},
        },
    )
    attn_implementation: str | None = field(
        default=None,
        metadata={
            "help": "Attention kernel for loading the model: eager, sdpa, flash_attention_2, ... (unset: "
            "transformers' default)."
        },
    )
    train_split: str = field(
        default="train",
        metadata={"help": "Split to train on: shards named <train_split>-*.parquet in data_dir."},
    )
    eval_split: str | None = field(
        default=None,
        metadata={"help": "Split to evaluate on (e.g. validation); unset means no evaluation data."},
    )
    predict_at_end: bool = field(
        default=False,
        metadata={
            "help": "After training, generate answers for eval_split with the trained model (greedy) and score "
            "them: <output_dir>/predictions.jsonl and metrics.json, as `vlmtrain predict` + `vlmtrain eval`."
        },
    )
    predict_metrics: list[str] = field(
        default_factory=lambda: ["anls", "exact_match", "vqa_accuracy", "bleu", "rouge_l", "cider"],
        metadata={"help": "Metrics for predict_at_end (see `vlmtrain eval --help`)."},
    )
    predict_max_new_tokens: int = field(
        default=64,
        metadata={"help": "Longest generated answer for predict_at_end.", "schema": {"minimum": 1}},
    )
    template_date: str | None = field(
        default=None,
        metadata={
            "help": "The date (YYYY-MM-DD) a chat template that prints today's date sees in every render of the "
            "run (Llama 3.2 Vision's 'Today Date', Mistral Small 3.1's default system prompt, any template "
            "calling strftime_now), so `vlmtrain check`, training, a resumed run and `vlmtrain predict` render "
            "the same text on any day. Unset: the date the run starts, recorded in "
            "<output_dir>/vlmtrain_config.yaml, which a resumed run and `vlmtrain predict` read; `vlmtrain "
            "check` uses today's and says so.",
            "schema": {
                "type": ["string", "null"],
                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                "x-expected": "a date written YYYY-MM-DD, e.g. 2026-12-07",
            },
        },
    )
    max_train_samples: int | None = field(
        default=None,
        metadata={"help": "Use only the first N training records (quick trials).", "schema": {"minimum": 1}},
    )
    # ---- method ---------------------------------------------------------------------------------
    method: str = field(
        default="lora",
        metadata={
            "help": "full: train every weight; lora: LoRA adapters on the language model; qlora: LoRA on a 4-bit "
            "nf4 base; freeze: train chosen parts (see freeze_* and trainable_lm_layers).",
            "schema": {"enum": list(METHODS)},
        },
    )
    lora_r: int = field(default=16, metadata={"help": "LoRA rank.", "schema": {"minimum": 1}})
    lora_alpha: int = field(
        default=32, metadata={"help": "LoRA alpha (scale = alpha / r).", "schema": {"minimum": 1}}
    )
    lora_dropout: float = field(
        default=0.05, metadata={"help": "Dropout on LoRA inputs.", "schema": {"minimum": 0, "maximum": 1}}
    )
    lora_target_modules: list[str] | None = field(
        default=None,
        metadata={
            "help": "Module names to wrap with LoRA (e.g. [q_proj, v_proj]); matched inside the language model "
            "only. Unset: the family's default targets."
        },
    )
    freeze_vision_tower: bool | None = field(
        default=None,
        metadata={"help": "method freeze: keep the vision tower frozen (default true)."},
    )
    freeze_projector: bool | None = field(
        default=None,
        metadata={"help": "method freeze: keep the vision-to-text projector frozen (default false)."},
    )
    freeze_language_model: bool | None = field(
        default=None,
        metadata={"help": "method freeze: keep the whole language model frozen (default false)."},
    )
    trainable_lm_layers: int | None = field(
        default=None,
        metadata={
            "help": "method freeze: train only the last N decoder layers of the language model (its embeddings "
            "and head stay frozen).",
            "schema": {"minimum": 0},
        },
    )
    # ---- images, length, loss -------------------------------------------------------------------
    max_pixels: int | None = field(
        default=None,
        metadata={
            "help": "Downscale any image with more pixels (width*height) than this, keeping its aspect ratio, "
            "before the processor sees it.",
            "schema": {"minimum": 1},
        },
    )
    # ---- videos (families with a video rule: frames sampled as their video processor samples them) ----
    video_fps: float | None = field(
        default=None,
        metadata={
            "help": "Frames sampled per second of video; default: the checkpoint's video processor's (2 where "
            "it samples none, as Qwen's qwen-vl-utils does).",
            "schema": {"exclusiveMinimum": 0},
        },
    )
    video_min_frames: int | None = field(
        default=None,
        metadata={
            "help": "At least this many frames per video (default: the checkpoint's).",
            "schema": {"minimum": 1},
        },
    )
    video_max_frames: int | None = field(
        default=None,
        metadata={
            "help": "At most this many frames per video (default: the checkpoint's).",
            "schema": {"minimum": 1},
        },
    )
    video_max_pixels: int | None = field(
        default=None,
        metadata={
            "help": "The video processor's pixel budget (its size longest_edge: per frame for Qwen2-VL and "
            "Qwen2.5-VL, over all frames for Qwen3-VL); default: the checkpoint's.",
            "schema": {"minimum": 1},
        },
    )
    on_overlength: str = field(
        default="drop",
        metadata={
            "help": "A sample longer than max_length (image tokens included) is never truncated: drop: leave it "
            "out, count it and list it in <output_dir>/dropped_overlength.jsonl; error: stop before training.",
            "schema": {"enum": list(ON_OVERLENGTH)},
        },
    )
    token_check: bool = field(
        default=True,
        metadata={
            "help": "Before loading the model, count every sample's tokens (image expansion from the image "
            "headers, as `vlmtrain check` does): refuse to start on samples the collator would reject, and "
            "apply on_overlength. false skips it; an over-long sample then stops training when its batch comes."
        },
    )
    train_on_prompt: bool = field(
        default=False,
        metadata={
            "help": "Also compute the loss on system/user tokens (image and padding tokens never count)."
        },
    )
    # ---- defaults that differ from SFTConfig ----------------------------------------------------
    report_to: None | str | list[str] = field(
        default_factory=lambda: ["tensorboard"],
        metadata={
            "help": "Integrations to report to; vlmtrain defaults to tensorboard (logs in output_dir/runs)."
        },
    )
    gradient_checkpointing: bool | None = field(
        default=None,
        metadata={
            "help": "Alias of activation_checkpointing (vlmtrain turns it on by default, non-reentrant)."
        },
    )
    train_sampling_strategy: str = field(
        default="group_by_length",
        metadata={
            "help": "Sampler for training. group_by_length (vlmtrain's default): batches of similar length "
            "(image tokens included), seeded, longest batch first (vlmtrain.sampling); random, sequential, "
            "batch_rebalance: transformers' samplers.",
            "schema": {"enum": ["group_by_length", "random", "sequential", "batch_rebalance"]},
        },
    )
    packing: bool = field(
        default=False,
        metadata={
            "help": "Pack whole samples into rows of at most max_length tokens (exact counts, image tokens "
            "included; a sample is never split) so every step carries about the same number of tokens and no "
            "padding; position ids restart per sample and no sample attends to another (vlmtrain.packing). "
            "A family that cannot be packed exactly (cross-attention, prefix-LM, bidirectional image attention) "
            "refuses it and says why. Replaces "
            "length-grouped batching; per_device_train_batch_size counts rows."
        },
    )
    # `packing` moves here in __post_init__: trl's SFTTrainer refuses its own `packing` for image datasets.
    pack_samples: bool = field(default=False, init=False, repr=False)
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Replace the earlier run in a non-empty output_dir (its checkpoints, logs and TensorBoard "
            "events are deleted first). Without it, `vlmtrain run` refuses a non-empty output_dir unless "
            "resuming."
        },
    )
    resume_from_checkpoint: str | bool | None = field(
        default=None,
        metadata={
            "help": "true: resume from the newest complete checkpoint in output_dir; or a checkpoint folder."
        },
    )

    def __post_init__(self):
        # Gradient checkpointing on, non-reentrant, unless the user chose otherwise under either name
        # (transformers 5 reads the old `gradient_checkpointing*` names only when the new ones are unset).
        if self.activation_checkpointing is None and self.gradient_checkpointing is None:
            self.activation_checkpointing = True
        if self.activation_checkpointing_kwargs is None and self.gradient_checkpointing_kwargs is None:
            self.activation_checkpointing_kwargs = {"use_reentrant": False}
        # Our collator needs the raw columns; trl must not tokenize image records itself.
        self.remove_unused_columns = False
        self.dataset_kwargs = {"skip_prepare_dataset": True}
        self.pack_samples, self.packing = bool(self.packing), False
        super().__post_init__()
