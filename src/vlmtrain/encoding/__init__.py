"""Shared encoding helpers under the family contract: record normalisation (`records`), label alignment
over the processor's image expansion (`align`), batch padding (`batch`), a header rule's `Expansion`
(`expansion`), content-part rendering (`parts`), processor-class shims (`compat`) and the one chat-template
render with the run's fixed date (`template_date`).

Layer: imported by `families/` and the layers above it; imports nothing of vlmtrain but `errors`.
"""
