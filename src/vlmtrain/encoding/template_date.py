"""The one date ("today") a chat template sees, fixed per run, and the one call that renders a template.

Some real templates print today's date: Llama 3.2 Vision writes `Today Date: 07 Dec 2026` into its system
header (`strftime_now("%d %b %Y")` when the caller passes no `date_string`), Mistral Small 3.1's default
system prompt holds `strftime_now("%Y-%m-%d")`. transformers gives every template a `strftime_now` that
reads the clock at each render, so what `vlmtrain check` counts, what a run trains on, what a resumed run
trains on and what `predict` prompts with would differ from day to day (and across midnight within one
run). Here the date is fixed per processor:

    pin_template_date(processor, "2026-12-07")   # Family.load_processor does this (the run's date or today)
    render_template(processor, messages, add_generation_prompt=True)
      -> "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\\n\\n...Today Date: 07 Dec 2026\\n\\n..."
    template_date(processor) -> "2026-12-07";  reads_date(processor) -> True (the template calls strftime_now)
    prints_date(processor) -> True (its text differs from one day to another: what the notices say)

How, scoped to each call (no global patching): transformers turns every template kwarg into plain JSON
data before rendering, so a `strftime_now` function cannot be passed in. Instead the template is handed to
`apply_chat_template(chat_template=...)` with a Jinja macro named `strftime_now` put before it (on a line
of its own, emitting nothing): the template's own `strftime_now(...)` calls and `strftime_now is defined`
tests then see the macro, which formats the pinned date (at midnight) with Python's own `strftime` output
for each directive. `date_string` is left alone: a template that reads it falls back to `strftime_now` (Llama
3.2 Vision) or to its own fixed default (Llama 3.1's "26 Jul 2024"), exactly as at inference, where nobody
passes it. A template that never calls `strftime_now` is rendered unchanged.

Layer: encoding (imports nothing of vlmtrain); no torch, no transformers import.
"""

from __future__ import annotations

import datetime
import json
import re

STRFTIME = "strftime_now"  # the clock transformers exposes to chat templates
_ATTR = "vlmtrain_template_date"  # on a processor: the ISO date its renders use (not saved with it)
_PERCENT = "\x00"  # stands for "%%" while the directives are replaced
# strftime directives a template may use (C89, POSIX, glibc; with glibc's no-padding "-" forms).
_DIRECTIVES = "aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ"
_NO_PAD = "dmHIjMSeUVWy"


def today() -> str:
    """The machine's local date, ISO: "2026-12-07". The one date source of vlmtrain's runs."""
    return datetime.date.today().isoformat()


def parse_date(value) -> datetime.date:
    """ "2026-12-07" (or a date) -> date; ValueError for anything else, e.g. "2026-02-30" or "07 Dec 2026"."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"expected a date written YYYY-MM-DD, found {value!r}")
    return datetime.date.fromisoformat(value)


def pin_template_date(processor, date: str | datetime.date | None = None):
    """Make every `render_template` of `processor` see `date` (None: `today()`, read once, here) as
    today. Returns the processor."""
    setattr(processor, _ATTR, parse_date(date if date is not None else today()).isoformat())
    return processor


def template_date(processor) -> str | None:
    """The date pinned on `processor` ("2026-12-07"), or None (its renders read the clock)."""
    return getattr(processor, _ATTR, None)


def chat_template(processor) -> str | None:
    """The template `apply_chat_template` renders by default (the "default" one of a dict of templates)."""
    template = getattr(processor, "chat_template", None)
    if isinstance(template, dict):
        template = template.get("default")
    return template if isinstance(template, str) else None


def reads_date(processor) -> bool:
    """True when the processor's template calls `strftime_now` (its render depends on the date)."""
    template = chat_template(processor)
    return template is not None and STRFTIME in template


# Conversations rendered on two dates by `prints_date`: without and with a system turn (a template may
# print the date only in its default system prompt, Mistral Small 3.1, or in every system header, Llama 3.2
# Vision), in typed parts and in plain strings (templates take one or the other).
_PROBE_TURNS = (("user", "Hi"), ("assistant", "Hello"))
_PROBE_DATES = ("2001-02-03", "2012-11-24")  # every field differs: day, month, year, weekday


def _probes() -> list[list[dict]]:
    out = []
    for system in (False, True):
        turns = ((("system", "Be brief."),) if system else ()) + _PROBE_TURNS
        out.append([{"role": r, "content": [{"type": "text", "text": t}]} for r, t in turns])
        out.append([{"role": r, "content": t} for r, t in turns])
    return out


def prints_date(processor) -> bool:
    """True when the template's text depends on the date: a short conversation (with and without a system
    turn, as typed parts and as strings) renders differently on two dates. False for a template that calls
    `strftime_now` without printing what it returns (Llama 4's default computes a date and never writes
    it). A template that renders none of the probes counts as printing it when it calls `strftime_now`."""
    if not reads_date(processor):
        return False
    rendered_any = False
    for messages in _probes():
        texts = set()
        for day in _PROBE_DATES:
            try:
                texts.add(
                    processor.apply_chat_template(
                        messages,
                        tokenize=False,
                        chat_template=strftime_macro(day) + chat_template(processor),
                    )
                )
            except Exception:  # a template refusing this probe's shape (raise_exception, a typed-part test)
                break
        else:
            rendered_any = True
            if len(texts) > 1:
                return True
    return not rendered_any


def strftime_macro(date: str | datetime.date) -> str:
    """A one-line Jinja macro `strftime_now(format)` that formats `date` at midnight as Python's
    strftime does (transformers' `strftime_now` is `datetime.now().strftime(format)`):

        strftime_macro("2026-12-07") renders strftime_now("%d %b %Y") as "07 Dec 2026"
    """
    moment = datetime.datetime.combine(parse_date(date), datetime.time())
    steps = [("%%", _PERCENT)]
    for d in _DIRECTIVES:
        for code in (f"%-{d}", f"%{d}") if d in _NO_PAD else (f"%{d}",):
            try:
                value = moment.strftime(code)
            except ValueError:  # a platform without the directive: left as written
                continue
            steps.append((code, value))
    steps.append((_PERCENT, "%"))
    chain = "".join(f"|replace({json.dumps(a)}, {json.dumps(b)})" for a, b in steps)
    # On a line of its own, ended by a newline that trim_blocks (transformers' setting) removes: the
    # template then starts a line as before, so its first newline stays and lstrip_blocks still applies.
    return f"{{%- macro {STRFTIME}(format) -%}}{{{{- format{chain} -}}}}{{%- endmacro %}}\n"


def render_template(processor, messages: list[dict], add_generation_prompt: bool, **template_kwargs) -> str:
    """`processor.apply_chat_template(messages, tokenize=False, ...)`, with the processor's pinned date
    as the template's today (`pin_template_date`); the one place vlmtrain renders a chat template.
    `template_kwargs` go to the template (Qwen3.5's enable_thinking=False)."""
    date = template_date(processor)
    if date is not None and reads_date(processor):
        template_kwargs["chat_template"] = strftime_macro(date) + chat_template(processor)
    return processor.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt, **template_kwargs
    )
