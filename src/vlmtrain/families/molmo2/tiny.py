"""Tiny Molmo2: text 64 x 2 layers (Qwen3-style q/k norms), a 2-layer ViT 32 wide at patch 4 over 40 px
crops (10 x 10 patches, so 100 position embeddings), the adapter pooling 2 x 2 patches by attention over
the two ViT layers' features, then projecting to the text width. The image processor is the real class at
a small scale: 40 px crops, margins 2 + 2 patches (a 24 px window), up to 4 crops, pooling 2 x 2, so a
low-res view of 5 x 5 tokens plus the crops' canvas. Molmo2's tokens (`<im_patch>`, `<im_col>`,
`<low_res_im_start>`, ...); BOS and EOS are `<|im_end|>` as on the checkpoints. The template: the one copy
found of allenai/Molmo2-4B's published `chat_template.jinja` (unverified; see the family's docstring).
"""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer

END_OF_TURN = "<|im_end|>"  # the EOS the family appends after a final answer (the template closes none)
CROP, PATCH, MARGIN, MAX_CROPS = 40, 4, 2, 4
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<im_start>", "<im_end>", "<im_patch>", "<im_col>"]
SPECIALS += ["<low_res_im_start>", "<|image|>", "<im_low>", "<frame_start>", "<frame_end>", "<|video|>"]
# A Hub download of allenai/Molmo2-4B committed to albud1978/CV (src/models/Molmo2-4B/chat_template.jinja @
# 83e865d2, 3169 characters); one copy, so unverified. It writes every image of the conversation first.
TEMPLATE = r"""{% set DEMO_STYLES = ['point_count','pointing','cosyn_point','user_qa','long_caption','short_caption','video_long_caption','video_short_caption','video_point_track_per_frame','video_point_track_start_end','video_point_track_all_frames','video_single_point_track_start_end','video_transcript','video_clip_caption_start_end','video_clip_caption_start_end_in_seconds','video_clip_transcript_start_end','video_clip_transcript_start_end_in_seconds','video_frame_caption_timestamp','video_frame_caption_timestamp_in_seconds','correction_qa','text_sft','video_point','video_point_count','video_count','video_count_point','multi_image_pointing','multi_image_counting','multi_image_point_then_count','multi_image_count_then_point','demo','a_okvqa_mc','ai2_diagram_no_letter','ai2_diagram','science_qa','multi_image_mc','multi_image_mc_exp','mantis_instruct_mc','video_multiple_choice','video_multiple_choice_count_without_pointing','video_multiple_choice_multiple_correct','video_multiple_choice_w_subtitle'] %}{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% set has_subtitle = messages and messages[0]['role'].lower() == 'subtitle' %}{% for message in messages %}{% if message['content'] is not string %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% elif content['type'] == 'video' or 'video' in content or 'video_url' in content %}{% set video_count.value = video_count.value + 1 %}{% endif %}{% endfor %}{% endif %}{% endfor %}{% if image_count.value == 1 %}{{ '<|image|>' }}{% elif image_count.value > 1 %}{% for i in range(image_count.value) %}{{ 'Image ' ~ (i + 1) ~ '<|image|>' }}{% endfor %}{% endif %}{% for _ in range(video_count.value) %}{{ '<|video|>' }}{% endfor %}{% if has_subtitle %}{{ messages[0]['content'] }}{% endif %}{% for message in messages %}{% set role = message['role'].lower() %}{% if role == 'subtitle' %}{% continue %}{% endif %}{% set conv_index = loop.index - (1 if has_subtitle else 0) %}{%- if (conv_index % 2 == 1 and role != 'user') or (conv_index % 2 == 0 and role != 'assistant') -%}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif -%}{% if message['content'] is string %}{% set text_content = message['content'] %}{% else %}{% set m = namespace(text='') %}{% for content in message['content'] %}{% if content['type'] == 'text' %}{% if content['style'] is defined and content['style'] not in DEMO_STYLES %}{% set seg = content['style'] ~ ': ' ~ content['text'] %}{% else %}{% set seg = content['text'] %}{% endif %}{% set m.text = m.text ~ ('' if not m.text else ' ') ~ seg %}{% endif %}{% endfor %}{% set text_content = m.text %}{% endif %}{% if role == 'user' %}{% if not (has_subtitle and loop.index == 2) and not (not has_subtitle and loop.first) %}{{ '<|im_end|>\n' }}{% endif %}{{ '<|im_start|>user\n' }}{{ text_content }}{{ '<|im_end|>\n' }}{% else %} {# assistant #}{{ '<|im_start|>assistant\n' }}{{ text_content }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"""


def build(out: Path) -> None:
    from transformers import (
        Molmo2Config,
        Molmo2ForConditionalGeneration,
        Molmo2ImageProcessor,
        Molmo2Processor,
        Molmo2VideoProcessor,
    )

    tok = train_tokenizer(SPECIALS, bos_token="<|im_end|>", eos_token="<|im_end|>", pad_token="<|endoftext|>")
    ip = Molmo2ImageProcessor(
        size={"height": CROP, "width": CROP},
        patch_size=PATCH,
        overlap_margins=[MARGIN, MARGIN],
        max_crops=MAX_CROPS,
        pooling_size=[2, 2],
        resample=2,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    # Molmo2Processor hands its parts on by position, so it is built with its video processor (the image
    # processor needs torchvision too); its save_pretrained writes video_preprocessor_config.json.
    vp = Molmo2VideoProcessor(size={"height": CROP, "width": CROP}, patch_size=PATCH)
    processor = Molmo2Processor(image_processor=ip, video_processor=vp, tokenizer=tok, chat_template=TEMPLATE)
    ids = tok.convert_tokens_to_ids
    vision = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    vision |= {"num_key_value_heads": 2, "head_dim": 16, "patch_size": PATCH, "image_size": [CROP, CROP]}
    adapter = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2, "num_key_value_heads": 2}
    adapter |= {"head_dim": 16, "text_hidden_size": 64, "vision_feature_layer": [-1, -2]}
    config = Molmo2Config(
        text_config=text_config(tok, model_type="molmo2_text", head_dim=16, additional_vocab_size=0),
        vision_config=vision,
        adapter_config=adapter,
        image_start_token_id=ids("<im_start>"),
        low_res_image_start_token_id=ids("<low_res_im_start>"),
        image_end_token_id=ids("<im_end>"),
        image_patch_id=ids("<im_patch>"),
        frame_start_token_id=ids("<frame_start>"),
        frame_end_token_id=ids("<frame_end>"),
    )
    save(out, Molmo2ForConditionalGeneration(config), processor, END_OF_TURN)
    # the video processor's own file too, as AutoVideoProcessor reads it (processor_config.json holds a copy)
    (Path(out) / "video_preprocessor_config.json").write_text(vp.to_json_string(), encoding="utf-8")


TINY = TinyModel(build, END_OF_TURN)
