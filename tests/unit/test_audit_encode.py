"""Loading a released checkpoint through open_clip, its zero-shot text classifier, the encoding of
an evaluation set (a tiny random-weight open_clip model saved as a state dict), and the prompts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from cliptail.audit.encode import encode_set, load_released, text_classifier
from cliptail.audit.prompts import class_prompt_names, prompt_names, templates_for
from cliptail.data.dataset_dir import DatasetDir
from cliptail.models.configs import open_clip
from tests.fixtures.tiny_models import tiny_openclip_checkpoint

MODEL = "cliptail-tiny-rn"
NAMES = ["cat", "dog", "bird"]
TEMPLATES = ("a photo of a {}.", "a drawing of the {}.")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return tiny_openclip_checkpoint(tmp_path_factory.mktemp("w") / "tiny.pt", MODEL, seed=3)


@pytest.fixture(scope="module")
def loaded(weights):
    return load_released(MODEL, str(weights))


def test_the_loaded_model_holds_the_saved_weights(weights, loaded):
    model, transform, _ = loaded
    saved = torch.load(weights, weights_only=True)
    state = model.state_dict()
    assert set(state) == set(saved)
    assert all(torch.equal(state[k], saved[k]) for k in saved)
    assert not model.training
    assert (transform.size, transform.resize, transform.train) == (32, 32, False)


def test_quick_gelu_is_the_activation_the_entry_asks_for(weights, loaded):
    activation = loaded[0].transformer.resblocks[0].mlp.gelu
    assert type(activation).__name__ == "GELU"
    quick = load_released(MODEL, str(weights), quick_gelu=True)[0]
    assert type(quick.transformer.resblocks[0].mlp.gelu).__name__ == "QuickGELU"


def test_a_file_of_another_model_is_refused_naming_the_model(weights, tmp_path):
    with pytest.raises(ValueError, match=r"not a checkpoint of open_clip model 'RN50'"):
        load_released("RN50", str(weights))
    saved = torch.load(weights, weights_only=True)
    saved["text_projection"] = torch.zeros(64, 128)
    torch.save(saved, tmp_path / "reshaped.pt")
    with pytest.raises(
        ValueError, match=rf"reshaped.pt: not a checkpoint of open_clip model '{MODEL}'"
    ):
        load_released(MODEL, str(tmp_path / "reshaped.pt"))
    (tmp_path / "junk.bin").write_bytes(b"an HTML error page, not weights")
    with pytest.raises(
        ValueError, match=rf"junk.bin: not a checkpoint of open_clip model '{MODEL}'"
    ):
        load_released(MODEL, str(tmp_path / "junk.bin"))


def test_text_classifier_is_the_mean_of_normalised_prompt_embeddings(loaded):
    model, _, tokenizer = loaded
    classifier = text_classifier(model, tokenizer, NAMES, TEMPLATES, batch_size=4)
    assert classifier.shape == (3, model.text_projection.shape[1])
    np.testing.assert_allclose(np.linalg.norm(classifier, axis=1), 1.0, atol=1e-6)
    with torch.no_grad():
        expected = []
        for name in NAMES:
            unit = [
                F.normalize(model.encode_text(tokenizer([t.format(name)])).float(), dim=-1)[0]
                for t in TEMPLATES
            ]
            mean = torch.stack(unit).mean(dim=0)
            expected.append((mean / mean.norm()).numpy())
    np.testing.assert_allclose(classifier, np.stack(expected), atol=1e-5)
    # one template: each row is the unit embedding of that class's single prompt
    single = text_classifier(model, tokenizer, NAMES, TEMPLATES[:1])
    with torch.no_grad():
        direct = F.normalize(
            model.encode_text(tokenizer([f"a photo of a {n}." for n in NAMES])), dim=-1
        )
    np.testing.assert_allclose(single, direct.numpy(), atol=1e-5)


def _png_evalset(root: Path) -> tuple[DatasetDir, pd.DataFrame]:
    """Five PNGs of three classes (sizes other than 32 x 32, one greyscale) as an evaluation set."""
    from PIL import Image

    rng = np.random.default_rng(0)
    images = root / "images"
    (images / "a").mkdir(parents=True)
    sizes = [(32, 32), (40, 56), (64, 48), (33, 90), (50, 50)]
    labels = [2, 0, 1, 0, 2]
    keys = []
    for i, (h, w) in enumerate(sizes):
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        image = Image.fromarray(pixels[..., 0] if i == 3 else pixels)
        keys.append(f"a/{i}.png")
        image.save(images / keys[-1])
    df = pd.DataFrame({"image": keys, "label": labels, "caption": ""})
    classes = pd.DataFrame({"id": ["n0", "n1", "n2"], "name": NAMES})
    folder = DatasetDir(root / "eval_toy")
    folder.write(df, classes, source={"image_root": str(images)}, allow_empty_captions=True)
    return folder, df


def test_encode_set_gives_open_clip_image_embeddings_and_the_classifier(weights, loaded, tmp_path):
    from PIL import Image

    folder, df = _png_evalset(tmp_path)
    model, transform, tokenizer = loaded
    encoded = encode_set(
        model,
        transform,
        tokenizer,
        manifest=folder.read_manifest(),
        images_root=folder.image_root(),
        class_names=NAMES,
        templates=TEMPLATES,
        batch_size=2,
        progress=False,
    )
    dim = model.text_projection.shape[1]
    assert encoded.features.shape == (5, dim) and encoded.features.dtype == np.float32
    assert encoded.targets.tolist() == [2, 0, 1, 0, 2] and encoded.targets.dtype == np.int64
    np.testing.assert_allclose(
        encoded.classifier, text_classifier(model, tokenizer, NAMES, TEMPLATES), atol=1e-6
    )
    # the same embeddings as open_clip's own evaluation preprocessing, image by image
    _, _, preprocess = open_clip.create_model_and_transforms(MODEL, pretrained=str(weights))
    with torch.no_grad():
        expected = torch.cat(
            [
                model.encode_image(preprocess(Image.open(Path(folder.image_root()) / key))[None])
                for key in df["image"]
            ]
        )
    np.testing.assert_allclose(encoded.features, expected.numpy(), rtol=1e-4, atol=1e-4)


def test_prompts_of_each_concept_set():
    assert prompt_names(["airplane_cabin", "bus_interior/inside", "Black-footed  Albatross"]) == [
        "airplane cabin",
        "bus interior inside",
        "Black-footed Albatross",
    ]
    assert templates_for("cub") == ("a photo of a {}, a type of bird.",)
    assert len(templates_for("dtd")) == 8
    assert len(templates_for("imagenet")) == 80  # OpenAI's ImageNet templates
    assert len(templates_for("world")) == 80
    classes = pd.DataFrame({"index": [0, 1], "id": ["a", "b"], "name": ["sea_cliff", "fox"]})
    assert class_prompt_names(classes, "places365") == ["sea cliff", "fox"]
    assert class_prompt_names(classes, "world", "descriptors") == ["sea_cliff", "fox"]
    wnids = pd.DataFrame({"index": [0, 1], "id": ["n01440764", "n01443537"], "name": ["x", "y"]})
    assert class_prompt_names(wnids, "imagenet") == ["tench", "goldfish"]  # open_clip's names
    assert class_prompt_names(wnids, "imagenet", "descriptors") == ["x", "y"]
