"""Zero-shot prompts of each concept set for the audit's released checkpoints.

ImageNet uses the configured template set (``evaluation.templates``: OpenAI's 80 by default)
and open_clip's ImageNet class names (``evaluation.zeroshot_names``). The other concept sets use
the prompts OpenAI published with CLIP for the same datasets (Food-101, DTD, Oxford Pets,
Flowers-102, EuroSAT; Places365 takes their SUN397 scene prompts) and, for CUB, which CLIP's
prompts do not cover, the Flowers/Pets pattern with "bird". Class names are those of the
released descriptor files (the names the web frequencies count), with underscores and slashes
of Places365's category names read as spaces.
"""

from __future__ import annotations

from collections.abc import Sequence

CONCEPT_SET_TEMPLATES: dict[str, tuple[str, ...]] = {
    "cub": ("a photo of a {}, a type of bird.",),
    "dtd": (
        "a photo of a {} texture.",
        "a photo of a {} pattern.",
        "a photo of a {} thing.",
        "a photo of a {} object.",
        "a photo of the {} texture.",
        "a photo of the {} pattern.",
        "a photo of the {} thing.",
        "a photo of the {} object.",
    ),
    "eurosat": (
        "a centered satellite photo of {}.",
        "a centered satellite photo of a {}.",
        "a centered satellite photo of the {}.",
    ),
    "flowers102": ("a photo of a {}, a type of flower.",),
    "food101": ("a photo of {}, a type of food.",),
    "pets": ("a photo of a {}, a type of pet.",),
    "places365": ("a photo of a {}.", "a photo of the {}."),
}


def templates_for(concept_set: str, imagenet_templates: str = "openai") -> tuple:
    """The prompt templates of ``concept_set``: ImageNet and the synthetic world take the
    template set named ``imagenet_templates`` (:data:`cliptail.evaluate.zeroshot.TEMPLATE_SETS`),
    the others :data:`CONCEPT_SET_TEMPLATES`."""
    if concept_set in CONCEPT_SET_TEMPLATES:
        return CONCEPT_SET_TEMPLATES[concept_set]
    from cliptail.evaluate.zeroshot import zeroshot_templates

    return zeroshot_templates(imagenet_templates)


def prompt_names(class_names: Sequence[str]) -> list[str]:
    """Class names as they read in a prompt: ``airplane_cabin`` -> ``airplane cabin``."""
    return [" ".join(str(n).replace("_", " ").replace("/", " ").split()) for n in class_names]


def class_prompt_names(classes, concept_set: str, zeroshot_names: str = "openclip") -> list[str]:
    """Names filled into the prompts of an evaluation set's classes (its ``classes.tsv``):
    ImageNet's as the trained runs' (:func:`cliptail.evaluate.zeroshot.zeroshot_class_names`),
    the other concept sets' by :func:`prompt_names`."""
    if concept_set in CONCEPT_SET_TEMPLATES:
        return prompt_names(classes["name"].tolist())
    from cliptail.evaluate.zeroshot import zeroshot_class_names

    return zeroshot_class_names(classes, zeroshot_names)
