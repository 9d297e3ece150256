"""Shared encoding helpers under the family contract: record normalisation (`records`), label alignment
over the processor's image expansion (`align`), batch padding (`batch`), a header rule's `Expansion`
(`expansion`), content-part rendering (`parts`) and processor-class shims (`compat`).

Layer: imported by `families/` and the layers above it; imports nothing of vlmtrain but `errors`.
"""
