"""LAIONet step 4 and the manifest: img2dataset really downloads fixture images from 127.0.0.1."""

from __future__ import annotations

import tarfile

import numpy as np
import pandas as pd
import pytest

from cliptail import io
from cliptail.data import laion
from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.metadata import imagenet_classes
from cliptail.data.wordnet import read_noun_synsets
from tests.fixtures.real_sources import (
    authors_counts,
    authors_laionet_table,
    image_server_root,
    laion_part,
    scaled,
    shared_metadata,
)

FAST = {
    "processes_count": 1,
    "thread_count": 16,
    "retries": 0,
    "timeout": 5,
    "number_sample_per_shard": 1000,
}


@pytest.fixture(scope="module")
def classes():
    return imagenet_classes(shared_metadata())


@pytest.mark.slow
def test_authors_laionet_through_img2dataset_matches_released_counts(
    tmp_path, http_server, classes
):
    """Scaled LAIONet t=0.7 (ceil(count / 2000): 2,271 images, 943 classes), plus 3 bad URLs."""
    counts = scaled(authors_counts("laionet_thresh0.7_ori"), 2000)
    server = http_server(image_server_root(tmp_path / "srv"))
    table = authors_laionet_table(
        tmp_path / "laionet_thresh07.parquet",
        classes["id"].tolist(),
        counts,
        lambda i: server.url(f"img/{i % 16}.jpg") + f"?n={i}",
    )
    bad = table.iloc[:3].copy()
    bad.index = bad.index + 1  # unused LAION indices
    bad["URL"] = [
        server.url("img/missing.jpg"),
        server.url("img/broken.jpg"),
        "http://127.0.0.1:9/refused.jpg",
    ]
    pd.concat([table, bad]).to_parquet(tmp_path / "authors.parquet")

    candidates, _ = laion.filter_laionet(
        laion.read_authors_laionet(tmp_path / "authors.parquet"), classes["id"].tolist()
    )
    laion.write_candidates(candidates, tmp_path / "candidates.parquet")
    shards = tmp_path / "resources" / "laionet" / "shards"
    stats = laion.download_images(
        tmp_path / "candidates.parquet", shards, FAST, log_file=tmp_path / "img2dataset.log"
    )
    assert stats["count"] == sum(counts) + 3 and stats["successes"] == sum(counts)
    assert not shards.with_name("shards.partial").exists()

    manifest, report = laion.read_laionet_shards(shards, classes)
    out = tmp_path / "results" / "data" / "laionet"
    DatasetDir(out).write(manifest, classes, report=report, source={"image_format": "webdataset"})
    assert io.read_frequency(out / "frequency.tsv")["count"].tolist() == counts
    assert io.read_json(out / "report.json")["nonempty_classes"] == 943
    assert report["failed"] == 3 and report["failed_by_status"] == {
        "failed_to_download": 2,
        "failed_to_resize": 1,
    }
    assert manifest["laion_index"].is_monotonic_increasing
    first = manifest.iloc[0]
    source = table.loc[first["laion_index"]]
    assert (first["wnid"], first["caption"]) == (source["wnid"], source["TEXT"])
    assert np.isclose(first["similarity"], source["text_to_name_def_wnid_similarity"], atol=1e-6)
    shard, key = first["image"].split(".tar/")
    with tarfile.open(shards / f"{shard}.tar") as tar:
        assert f"{key}.jpg" in tar.getnames()


@pytest.mark.slow
def test_recreated_laionet_small(tmp_path, http_server, classes):
    """Steps 1-4 from a LAION-400M part: match, score (random CLIP), filter, download, read."""
    server = http_server(image_server_root(tmp_path / "srv"))
    texts = [
        "A tench in the lake",
        "goldfish bowl",
        "sea lion and a lion",
        "crane at dusk",
        "Tinca tinca close up",
        "unrelated words",
    ]
    nsfw = ["UNLIKELY", "UNLIKELY", "UNLIKELY", "UNLIKELY", "NSFW", "UNLIKELY"]
    part = laion_part(
        tmp_path / "parts" / laion.part_name(0), texts, lambda i: server.url(f"img/{i}.jpg"), nsfw
    )
    synsets = read_noun_synsets(classes["id"].tolist())
    matched, _ = laion.match_part(
        part, 0, laion.unique_lemmas(synsets), progress=False, match="words"
    )
    scorer = laion.DefinitionScorer(pretrained=None, device="cpu")
    scored = laion.score_matches(matched, synsets, scorer, progress=False)
    candidates, report = laion.filter_laionet(scored, classes["id"].tolist(), threshold=-1.0)
    assert candidates["laion_index"].tolist() == [0, 1, 2]  # NSFW row 4 removed, 3 unmatched
    assert report["images_with_several_synsets"] == 1
    laion.write_candidates(candidates, tmp_path / "candidates.parquet")
    shards = tmp_path / "shards"
    laion.download_images(tmp_path / "candidates.parquet", shards, FAST)
    manifest, report = laion.read_laionet_shards(shards, classes)
    assert manifest["caption"].tolist() == texts[:3]
    assert manifest["wnid"].tolist()[:2] == ["n01440764", "n01443537"]
    assert manifest["wnid"].tolist()[2] in {"n02077923", "n02129165"}
    assert report["failed"] == 0


def test_missing_shards_are_explained(tmp_path, classes):
    with pytest.raises(FileNotFoundError, match="run the LAIONet image download first"):
        laion.read_laionet_shards(tmp_path, classes)
