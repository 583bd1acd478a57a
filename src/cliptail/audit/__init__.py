"""The open-source CLIP audit (experiments E0 and E6 of docs/study.md): released open_clip
checkpoints evaluated zero-shot, never trained.

- :mod:`.checkpoints`: which checkpoints (model, pretrained tag, pre-training dataset), where
  their weights come from, and how a configuration lists them;
- :mod:`.prompts`: the zero-shot prompt templates of each concept set;
- :mod:`.encode`: load a checkpoint through open_clip, build its text classifier, encode images;
- :mod:`.frequencies`: the web-scale concept frequencies a checkpoint's records correlate with;
- :mod:`.records`: per-class records, scalars and the small feature sample the figures read;
- :mod:`.plan`: the audit's evaluation sets and files, for the workflow;
- :mod:`.table`: the tidy audit table (one row per checkpoint and evaluation set).
"""
