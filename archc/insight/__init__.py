"""Understanding a network: folded tables, receptive fields, explanations, memory, diffs.

A subsystem on top of the pipeline (it reads `archc.api.Model`; nothing in the pipeline
imports it). Every per-layer figure comes from the layer registry (`archc.layers`).
"""
