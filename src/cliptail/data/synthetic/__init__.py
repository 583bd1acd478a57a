"""The embedded synthetic long-tailed image-text world.

``generate_world(params, out_dir)`` renders a world in which every factor of the study is a knob
and the ground truth is known: concepts with pseudo-word names composed of shared visual
attributes (shape, colour, pattern, parts), long-tailed curated and web training pools (with
open-world concepts that are not evaluation classes), balanced in-distribution (``val``) and
shifted (``v2``) evaluation sets, and ImageNet-Captions-like metadata (title, tags, description)
of graded descriptiveness. Same parameters, same bytes.

Output layout in ``out_dir``::

    classes.tsv                 index, id, name of ALL concepts (evaluation classes first)
    concepts.parquet            index, id, name, synonyms, definition, is_eval, attributes,
                                train_count, web_count
    images/{split}.npy          uint8 [N, S, S, 3], split in train, web, val, v2
    metadata/{split}.parquet    image ("{split}/{row:07d}"), label, concept_id, title, tags,
                                description, source, split (row order = array order)
    timing.json                 wall time (excluded from the determinism guarantee)
    world.json                  resolved params + statistics; written last (completion marker)

Splits: ``train`` = curated pool (source ``curated``), ``web`` = shifted web pool (``web``),
``val`` = balanced, evaluation classes only (``curated``), ``v2`` = balanced, evaluation classes
only, rendered with a shifted style (``v2``).

Parameters (the config's ``world:`` section; unknown keys or bad values raise ``ValueError``
naming the key):

========================  ==========  =========================================================
key                       default     meaning
========================  ==========  =========================================================
seed                      0           the only source of randomness
num_classes               200         evaluation concepts (label indices 0..num_classes-1)
num_open_world            100         extra concepts found in train/web but never in val/v2
image_size                32          image side S in pixels (16..256)
train_size                20000       images in the curated pool over all concepts
web_size                  30000       images in the web pool over all concepts (may be 0)
val_per_class             20          val images per evaluation class
v2_per_class              10          v2 images per evaluation class
frequency.profile         incaps      curated curve: ``incaps`` (ImageNet-Captions shape),
                                      ``laion`` (LAION-400M shape) or ``zipf``
frequency.zipf_exponent   1.0         exponent a of ``count ~ rank^-a`` (profile ``zipf``)
web_frequency.*           laion, 1.0  the same for the web pool
web_rank_correlation      0.25        approx. Spearman between web and curated concept ranks
                                      (IN-Caps vs LAION-400M over ImageNet classes: 0.20,
                                      vs LAIONet: 0.27)
diversity                 0.5         0..1, spread of per-image nuisances (position, scale,
                                      rotation, colour jitter, background choice, texture)
clutter                   0.8         mean number of distractor shapes per curated image
web_shift                 0.5         0..1, web rendering style (curated -> full web style);
                                      also the share of web captions written as alt-text
v2_shift                  0.3         0..1, v2 rendering style (curated -> full v2 style)
num_shapes                8           attribute group sizes (at most 10, 11, 7, 4); their
num_colors                8           product must be >= num_classes + num_open_world
num_patterns              5           (every concept has a unique attribute combination)
max_parts                 3
max_synonyms              3           each concept has 1..max_synonyms names (first = name)
captions.*                see below   caption rates of train, val and v2
web_captions.*            see below   caption rates of web
========================  ==========  =========================================================

Caption rates (``captions`` / ``web_captions`` defaults): ``p_title_empty`` 0.013 / 0.0,
``p_tags_empty`` 0.09 / 0.85, ``p_description_empty`` 0.40 / 0.75 (curated values are
ImageNet-Captions' empty-field rates), ``p_name_title`` 0.30 / 0.60, ``p_name_tags`` 0.40 / 0.50,
``p_name_description`` 0.15 / 0.40 (chance that a non-empty field names the concept),
``p_synonym`` 0.30 / 0.30 (a name mention uses another synonym), ``p_attribute`` 0.70 / 0.45
(each rendered attribute is mentioned), ``p_misleading`` 0.05 / 0.12 (a mention names a wrong
value).
"""

from cliptail.data.synthetic.params import CaptionParams, FrequencyParams, WorldParams
from cliptail.data.synthetic.world import generate_world

__all__ = ["CaptionParams", "FrequencyParams", "WorldParams", "generate_world"]
