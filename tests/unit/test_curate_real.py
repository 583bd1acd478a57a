"""Real-data variants (cliptail.curate.real_datasets) against the authors' released frequencies,
factor checks, and the webdataset image store."""

from __future__ import annotations

import io as _io
import pickle
import tarfile

import numpy as np
import pandas as pd
import pytest

from cliptail import factors
from cliptail.curate import real_datasets as real
from cliptail.data import manifest
from cliptail.data.images import WebDatasetImageStore, open_image_store
from tests.fixtures.real_sources import authors_counts, jpeg_bytes, shared_metadata

FACTORS = {
    "source": "incaps",
    "caption": "full",
    "scale": 1.0,
    "classes": "eval",
    "trim_k": 0,
    "trim_ceil": 0,
}


def _factors(**kw):
    return {**FACTORS, **kw}


@pytest.fixture(scope="module")
def incaps():
    """An IN-Caps base table whose per-class counts are the released ones (448,896 rows)."""
    counts = np.array(authors_counts("incaps_imagenet_ori"))
    import json

    wnids = sorted(
        json.loads(
            (shared_metadata() / "descriptors" / "descriptors_imagenet_synset.json").read_text()
        )
    )
    names = list(
        json.loads((shared_metadata() / "descriptors" / "descriptors_imagenet.json").read_text())
    )
    labels = np.repeat(np.arange(1000), counts)
    within = np.concatenate([np.arange(c) for c in counts])
    wn = np.asarray(wnids, dtype=object)[labels]
    df = pd.DataFrame(
        {
            "image": [f"train/{w}/{w}_{10000 + n}.JPEG" for w, n in zip(wn, within, strict=True)],
            "label": labels.astype(np.int64),
            "title": np.where(within % 3 == 0, "", "a title"),
            "tags": np.where(within % 2 == 0, "tag1 tag2", ""),
            "description": "",
        }
    )
    df["caption"] = ""
    classes = pd.DataFrame({"index": np.arange(1000), "id": wnids, "name": names})
    in100 = np.loadtxt(shared_metadata() / "imagenet100_idxs.txt", dtype=np.int64)
    return df, classes, counts, in100


def _counts(df, n=1000):
    return manifest.class_counts(df["label"], n)


def test_incaps_caption_variant_keeps_every_row_with_the_class_name_prepended(incaps):
    base, classes, counts, _ = incaps
    df, report = real.build_variant(_factors(caption="title"), base, classes)
    assert len(df) == 448_896 == report["images"] and report["nonempty_classes"] == 999
    assert _counts(df).tolist() == counts.tolist()
    first = df.iloc[0]
    assert first["caption"].startswith(classes["name"][first["label"]])


def test_incaps_100_and_10pct_reproduce_the_released_files(incaps):
    base, classes, counts, in100 = incaps
    df, report = real.build_variant(_factors(classes="in100"), base, classes, imagenet100=in100)
    released = authors_counts("incaps_imagenet100_ori")
    assert len(df) == 44_548 == sum(released)
    assert _counts(df)[np.sort(in100)].tolist() == released
    df10, report10 = real.build_variant(
        _factors(classes="in100_matched"), base, classes, imagenet100=in100
    )
    assert report10["matched_size"] == 44_548
    assert _counts(df10).tolist() == authors_counts("incaps_n44548_ori")


@pytest.mark.parametrize("k,largest", [(5, 17), (50, 133), (500, 454)])
@pytest.mark.parametrize("ceil", [0, 1])
def test_trim_tail_on_incaps(incaps, k, largest, ceil):
    base, classes, counts, _ = incaps
    df, report = real.build_variant(_factors(trim_k=k, trim_ceil=ceil), base, classes)
    tail = report["tail_classes"]
    assert len(tail) == k and report["tail_max_count"] == largest
    got = _counts(df)
    assert (got[tail] == np.minimum(counts[tail], ceil)).all()
    rest = np.setdiff1d(np.arange(1000), tail)
    assert (got[rest] == counts[rest]).all()


def _laionet(counts, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(counts)), counts)
    rng.shuffle(labels)
    return pd.DataFrame(
        {
            "image": [f"00000.tar/{i:09d}" for i in range(len(labels))],
            "label": labels,
            "caption": "x",
            "similarity": rng.uniform(0.7, 0.95, len(labels)),
        }
    )


def test_laionet_variants_sizes_and_no_class_lost():
    counts = np.array([0, 50, 20, 3, 1] + [10] * 15)
    base = _laionet(counts)
    classes = pd.DataFrame(
        {
            "index": range(20),
            "id": [f"n{i:08d}" for i in range(20)],
            "name": [f"c{i}" for i in range(20)],
        }
    )
    nonempty = int((counts > 0).sum())
    df, rep = real.build_variant(
        _factors(source="laionet_t0.8", scale=1.0), base, classes, in_caps_size=60
    )
    assert len(df) == 60 and rep["nonempty_classes"] == nonempty
    assert rep["variant"] == "thresh0.8_n60"
    df, rep = real.build_variant(_factors(source="laionet", scale=0.25), base, classes)
    assert rep["variant"] == "thresh0.7_frac0.25" and rep["nonempty_classes"] == nonempty
    assert len(df) >= round(0.25 * len(base))
    targets = np.array([0, 10, 30, 3, 0] + [5] * 15)
    df, rep = real.build_variant(
        _factors(source="laionet_freq"), base, classes, target_counts=targets
    )
    assert _counts(df, 20).tolist() == np.minimum(targets, counts).tolist()
    assert rep["retrieved"] == 0


@pytest.mark.parametrize(
    "factors,message",
    [
        (dict(source="laionet", caption="title"), "web sources keep their own captions"),
        (dict(source="laionet_t0.8", scale=0.5), "scale must be 1"),
        (dict(source="incaps", classes="all"), "is for the synthetic world"),
        (dict(source="cc12m_cls", classes="in100"), "defined for IN-Caps only"),
        (dict(source="incaps", classes="in100", scale=0.5), "fixed size"),
        (dict(source="curated"), "not a real source"),
    ],
)
def test_bad_factor_combinations_fail_clearly(factors, message):
    with pytest.raises(ValueError, match=message):
        real.family(_factors(**factors))


def test_families():
    assert real.family(_factors()) == "incaps_captions"
    assert real.family(_factors(classes="in100_matched")) == "incaps_subsets"
    assert real.family(_factors(trim_k=5)) == "incaps_trim_tail"
    assert real.family(_factors(source="laionet_t0.82")) == "laionet_variants"
    assert real.family(_factors(source="laionet_freq")) == "laionet_freq"
    assert real.family(_factors(source="yfcc15m_cls")) == "web_cls"
    assert not factors.is_real_source("web") and factors.is_real_source("laionet_freq")


def test_write_real_dataset_requires_the_base(tmp_path):
    with pytest.raises(FileNotFoundError, match="build the dataset first"):
        real.write_real_dataset(_factors(), base_dir=tmp_path / "incaps", out_dir=tmp_path / "o")
    assert not (tmp_path / "o").exists()


# --- webdataset shards ----------------------------------------------------------------------------


def _shard(path, keys, ext="jpg"):
    with tarfile.open(path, "w") as tar:
        for n, key in enumerate(keys):
            for suffix, data in (
                (ext, jpeg_bytes(n, size=12)),
                ("txt", b"caption"),
                ("json", b"{}"),
            ):
                info = tarfile.TarInfo(f"{key}.{suffix}")
                info.size = len(data)
                tar.addfile(info, _io.BytesIO(data))


def test_webdataset_store_reads_img2dataset_shards(tmp_path):
    _shard(tmp_path / "00000.tar", ["000000000", "000000001"])
    _shard(tmp_path / "00001.tar", ["000010000"], ext="png")
    (tmp_path / "00000.parquet").write_bytes(b"")
    store = open_image_store(tmp_path)
    assert isinstance(store, WebDatasetImageStore)
    handles = store.locate(["00001.tar/000010000", "00000.tar/000000001"])
    images = store.load(handles)
    assert [im.size for im in images] == [(12, 12), (12, 12)]
    from PIL import Image

    expected = np.asarray(Image.open(_io.BytesIO(jpeg_bytes(1, size=12))).convert("RGB"))
    assert (np.asarray(images[1]) == expected).all()
    clone = pickle.loads(pickle.dumps(store))
    assert (np.asarray(clone.load(handles[1:])[0]) == expected).all()
    with pytest.raises(ValueError, match="no image sample '000000009'"):
        store.locate(["00000.tar/000000009"])
    with pytest.raises(ValueError, match="is not '<shard>.tar/<key>'"):
        store.locate(["train/n0/x.JPEG"])
    with pytest.raises(FileNotFoundError, match="shard '00007.tar' not found"):
        store.locate(["00007.tar/000000000"])


def test_evaluation_set_capped_per_class_keeps_the_first_images(tmp_path):
    from cliptail.data.dataset_dir import DatasetDir
    from cliptail.data.metadata import imagenet_classes

    classes = imagenet_classes(shared_metadata())
    labels = np.repeat(np.arange(1000), 5)
    df = pd.DataFrame(
        {
            "image": [f"val/{classes['id'].iat[c]}/{i:05d}.JPEG" for i, c in enumerate(labels)],
            "label": labels,
            "caption": "",
        }
    )
    DatasetDir(tmp_path / "imagenet_val").write(
        df, classes, source={"image_root": "/x", "image_format": "files"}, allow_empty_captions=True
    )
    n = real.write_real_evalset(
        base_dir=tmp_path / "imagenet_val", out_dir=tmp_path / "capped", max_per_class=2
    )
    capped = DatasetDir(tmp_path / "capped").read_manifest()
    assert n == len(capped) == 2000
    assert capped[capped.label == 7]["image"].tolist() == df[df.label == 7]["image"].tolist()[:2]
    with pytest.raises(ValueError, match="max_per_class must be >= 1"):
        real.write_real_evalset(
            base_dir=tmp_path / "imagenet_val", out_dir=tmp_path / "bad", max_per_class=0
        )
