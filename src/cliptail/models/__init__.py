"""Models: open_clip CLIP (tiny configs included), the SL prototype classifier, text towers.

- :mod:`cliptail.models.configs`: model configs by name (open_clip's plus ``model_configs/``).
- :mod:`cliptail.models.clip`: CLIP with a trainable or a frozen pre-trained text tower.
- :mod:`cliptail.models.sl`: the supervised prototype classifier (docs/study.md section 3).
- :mod:`cliptail.models.batchnorm`: synchronised batch norm that also works on CPU (gloo).
- :mod:`cliptail.models.text_encoder`: frozen pre-trained sentence encoders (embeddings on disk).
- :mod:`cliptail.models.build`: build a model from a training spec or from a checkpoint.
"""
