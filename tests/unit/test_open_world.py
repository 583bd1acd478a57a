"""Open-world concepts (E5, Fig. 6) as the authors ran it: the IN-100 evaluation set (K-way
evaluation over a class subset, records in the common class space), SL trained 100-way on
IN-Caps-100 (labels remapped and mapped back), the whole YFCC-15M (every caption, frequency
counting every match), planning of the paper preset and Fig. 6 on its study."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from cliptail import config as cfg  # noqa: E402
from cliptail import factors, io  # noqa: E402
from cliptail.data import manifest as manifest_lib  # noqa: E402
from cliptail.data.dataset_dir import DatasetDir  # noqa: E402
from cliptail.data.metadata import imagenet100_indices, imagenet_classes  # noqa: E402
from cliptail.evaluate.records import evaluation_records  # noqa: E402
from cliptail.evaluate.zeroshot import (  # noqa: E402
    evaluate_checkpoint,
    select_prompt_embeddings,
    sl_rows,
    top_classes,
)
from cliptail.study import build_plan  # noqa: E402
from cliptail.train.data import remap_labels  # noqa: E402
from tests.fixtures.real_sources import shared_metadata, write_caption_list  # noqa: E402
from tests.fixtures.study_rows import study_row  # noqa: E402
from tests.fixtures.toy_data import write_toy_split  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
IN100 = sorted(imagenet100_indices())


def paper_config() -> dict:
    return cfg.validate(
        cfg.deep_merge(
            cfg.load_yaml(ROOT / "config/config.yaml"),
            cfg.load_yaml(ROOT / "config/presets/paper.yaml"),
        ),
        ROOT / "config/schema/config.schema.yaml",
    )


# --- evaluation over a class subset ---------------------------------------------------------------


def test_k_way_prediction_and_records_known_answer():
    """Ten classes, the subset {2, 5, 7}: image 0's best class overall is 9 (outside), its best
    among the subset is 5; image 1 (class 2) looks most like 5; image 2 (class 7) is right."""
    classifier = np.eye(10, dtype=np.float32)
    base = np.zeros((3, 10), dtype=np.float32)
    base[0, [9, 5, 2]] = [1.0, 0.6, 0.1]
    base[1, [9, 5, 2]] = [0.9, 0.5, 0.4]
    base[2, [7, 9]] = [1.0, 0.8]
    assert top_classes(base, classifier)[:, 0].tolist() == [9, 9, 7]  # all ten compete
    subset = np.array([2, 5, 7])
    top = top_classes(base, classifier[subset])
    assert top[:, 0].tolist() == [1, 1, 2] and subset[top[:, 0]].tolist() == [5, 5, 7]
    # records: classes 2, 5, 7 of the common space; training counts of those classes only
    rng = np.random.default_rng(0)
    features = np.repeat(base, 4, axis=0) + 0.01 * rng.standard_normal((12, 10)).astype("f4")
    targets = np.repeat([1, 0, 2], 4)  # positions in the subset: classes 5, 2, 7
    preds = np.repeat(top[:, 0], 4)
    train_freq = np.arange(10) * 10
    table, scalars, bootstrap = evaluation_records(
        features=features,
        targets=targets,
        preds=preds,
        top5=np.repeat(top, 4, axis=0),
        classifier=classifier[subset],
        freq=train_freq[subset],
        class_names=[f"c{c}" for c in subset],
        class_ids=subset,
        tail_classes=[7, 9],  # common space; 9 is not evaluated
    )
    assert table["class"].tolist() == [2, 5, 7] and table["freq"].tolist() == [20, 50, 70]
    assert table["acc"].tolist() == [0.0, 1.0, 1.0] and table["npred"].tolist() == [0, 8, 4]
    assert scalars["num_classes"] == 3 and scalars["top1"] == pytest.approx(2 / 3)
    # Spearman over the three evaluated classes only: ranks (1,2,3) vs (1,2.5,2.5) and (1,3,2)
    assert scalars["rho_acc"] == pytest.approx(1.5 / np.sqrt(3))
    assert scalars["rho_pred"] == pytest.approx(0.5)
    assert scalars["tail_acc"] == 1.0 and scalars["head_acc"] == 0.5
    # class-bootstrap replicates over the three evaluated classes, and their 95 % intervals
    assert len(bootstrap) == 1000 and list(bootstrap.columns)[:3] == ["top1", "rho_acc", "rho_pred"]
    assert scalars["top1_lo"] <= scalars["top1"] <= scalars["top1_hi"]
    assert {"rho_acc_lo", "rho_acc_hi", "rho_pred_lo", "rho_pred_hi"} <= set(scalars)
    # the tail is class 7 alone (acc 1): every resample that draws it says 1; head & mid is
    # classes 2 (acc 0) and 5 (acc 1): resamples of only one of them reach both ends
    assert (scalars["tail_acc_lo"], scalars["tail_acc_hi"]) == (1.0, 1.0)
    assert (scalars["head_acc_lo"], scalars["head_acc_hi"]) == (0.0, 1.0)


def test_prompt_rows_and_sl_rows_of_a_subset():
    emb = np.arange(4 * 2 * 3, dtype=np.float32).reshape(4, 2, 3)  # [C, T, D]
    picked = select_prompt_embeddings(emb.reshape(8, 3), 4, [1, 3])
    np.testing.assert_array_equal(picked, emb[[1, 3]].reshape(4, 3))
    np.testing.assert_array_equal(select_prompt_embeddings(emb, 4, [2]), emb[2])
    rows, kept = sl_rows({"class_ids": [3, 5, 8]}, [1, 3, 8])
    assert rows.tolist() == [0, 2] and kept.tolist() == [3, 8]
    rows, kept = sl_rows({}, [1, 3])
    assert rows.tolist() == kept.tolist() == [1, 3]
    with pytest.raises(ValueError, match="none of the"):
        sl_rows({"class_ids": [3]}, [1])


def test_label_remapping_round_trip():
    rng = np.random.default_rng(1)
    labels = rng.choice(IN100, size=500)
    remapped, class_ids = remap_labels(labels, IN100[::-1])  # any order: the subset is sorted
    assert class_ids.tolist() == IN100 and remapped.min() == 0 and remapped.max() <= 99
    assert (class_ids[remapped] == labels).all()
    assert (np.diff(class_ids) > 0).all()  # position order = ImageNet order
    with pytest.raises(ValueError, match="outside the class subset"):
        remap_labels(np.array([IN100[0], 999 if 999 not in IN100 else 0]), IN100)


@pytest.fixture(scope="module")
def subset_run(tmp_path_factory):
    """SL with a frozen head trained on classes {1, 3, 4} of six (3-way, as IN-Caps-100)."""
    from cliptail.train import train_run

    root = tmp_path_factory.mktemp("k_way")
    write_toy_split(root, "train", 384, 6)
    write_toy_split(root, "val", 120, 6, seed=1)
    train = pd.read_parquet(root / "train.parquet")
    train[train["label"].isin([1, 3, 4])].to_parquet(root / "train3.parquet")
    protos = np.random.default_rng(0).standard_normal((6, 32)).astype(np.float32)
    np.save(root / "protos.npy", protos)
    train_run(
        {
            "run": "sl3",
            "method": "sl",
            "head": "frozen",
            "threads": 1,
            "model": {"vision_width": 8, "embed_dim": 32},
            "optim": {"epochs": 1, "batch_size": 32},
        },
        manifest=root / "train3.parquet",
        classes=root / "classes.tsv",
        images_root=root,
        out_dir=root / "sl3",
        class_embeddings=root / "protos.npy",
        class_subset=[4, 1, 3],
        progress=False,
    )
    return root, protos


def test_sl_trains_k_way_and_evaluates_in_the_common_class_space(subset_run):
    import torch

    root, protos = subset_run
    ckpt = torch.load(root / "sl3" / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert ckpt["num_classes"] == 3 and ckpt["class_ids"] == [1, 3, 4]
    np.testing.assert_allclose(ckpt["state_dict"]["prototypes"].numpy(), protos[[1, 3, 4]])
    names = io.read_classes(root / "classes.tsv")["name"].tolist()
    val = pd.read_parquet(root / "val.parquet")
    # a six-class evaluation set: the model is evaluated over the three classes it knows
    out = evaluate_checkpoint(
        root / "sl3" / "checkpoint.pt",
        manifest=val,
        images_root=root,
        class_names=names,
        progress=False,
    )
    assert out.classes.tolist() == [1, 3, 4] and out.classifier.shape == (3, 32)
    known = val["label"].isin([1, 3, 4]).to_numpy()
    assert len(out.targets) == known.sum()
    np.testing.assert_array_equal(out.classes[out.targets], val["label"].to_numpy()[known])
    assert out.preds.max() <= 2
    # an evaluation set restricted to {3, 4, 5}: class 5 has no prototype
    sub = evaluate_checkpoint(
        root / "sl3" / "checkpoint.pt",
        manifest=val,
        images_root=root,
        class_names=names,
        class_subset=[5, 4, 3],
        progress=False,
    )
    assert sub.classes.tolist() == [3, 4]
    np.testing.assert_allclose(sub.classifier, out.classifier[[1, 2]], atol=1e-6)


# --- curation ---------------------------------------------------------------------------------


def _imagenet_like(root: Path, per_class: int = 2) -> DatasetDir:
    classes = imagenet_classes(shared_metadata())
    labels = np.repeat(np.arange(1000), per_class)
    df = pd.DataFrame(
        {
            "image": [f"val/{classes['id'].iat[c]}/{i}.JPEG" for i, c in enumerate(labels)],
            "label": labels,
            "caption": "",
        }
    )
    base = DatasetDir(root / "imagenet_val")
    base.write(
        df,
        classes,
        source={"image_root": "/x", "image_format": "files"},
        allow_empty_captions=True,
    )
    return base


def test_imagenet100_evalset_holds_exactly_the_100_classes(tmp_path):
    from cliptail.curate.real_datasets import write_real_evalset

    _imagenet_like(tmp_path, per_class=3)
    out = tmp_path / "eval_imagenet100_val"
    n = write_real_evalset(
        base_dir=tmp_path / "imagenet_val", out_dir=out, class_subset=IN100[::-1]
    )
    ev = DatasetDir(out)
    m = ev.read_manifest()
    assert n == len(m) == 300 and sorted(m["label"].unique()) == IN100
    assert len(ev.read_classes()) == 1000 and ev.class_subset() == IN100
    assert DatasetDir(tmp_path / "imagenet_val").class_subset() is None


def test_whole_caption_list_every_caption_and_every_match(tmp_path):
    from cliptail.curate.real_datasets import build_variant
    from cliptail.data.web_captions import class_phrases, read_web_cls, read_web_full

    classes = imagenet_classes(shared_metadata())
    phrases = class_phrases(classes["id"].tolist(), "wordnet")
    captions = [
        "a crane lifting steel",
        "my goldfish",
        "goldfish without image",
        "nothing here",
        "a TENCH and a Goldfish",
        "tinca tinca\tfish",
    ]
    images = ["a/1.jpg", "a/2.jpg", "", "a/4.jpg", "a/5.jpg", "a/6.jpg"]
    path = write_caption_list(tmp_path / "list.jsonl", images, captions)
    df, all_classes, report = read_web_full(
        path, classes, phrases, source="yfcc15m", progress=False
    )
    assert len(all_classes) == 1001 and all_classes["id"].iat[1000] == "none"
    assert df["image"].tolist() == ["a/1.jpg", "a/2.jpg", "a/4.jpg", "a/5.jpg", "a/6.jpg"]
    assert [list(m) for m in df["matched"]] == [[134, 517], [1], [], [0, 1], [0]]
    assert df["label"].tolist() == [134, 1, 1000, 0, 0]
    assert report["captions_no_class"] == 1 and report["multi_label_captions"] == 2
    counts = manifest_lib.frequency_counts(df, 1001)
    multi, _ = read_web_cls(path, classes, phrases, ambiguous="all", progress=False)
    assert counts[:1000].tolist() == manifest_lib.class_counts(multi["label"], 1000).tolist()
    assert counts[[0, 1, 134, 517, 1000]].tolist() == [2, 2, 1, 1, 1] and counts.sum() == 7
    # written and curated (source yfcc15m): the frequency file keeps counting every match
    base = DatasetDir(tmp_path / "yfcc15m")
    base.write(df, all_classes, source={"image_root": None}, report=report)
    assert io.read_frequency(base.frequency)["count"].tolist() == counts.tolist()
    data = {
        "source": "yfcc15m",
        "caption": "full",
        "scale": 1.0,
        "classes": "eval",
        "trim_k": 0,
        "trim_ceil": 0,
    }
    variant, _ = build_variant(data, base.read_manifest(), base.read_classes())
    assert manifest_lib.frequency_counts(variant, 1001).tolist() == counts.tolist()
    # without a `matched` column the frequency is the label counts
    plain = df.drop(columns="matched")
    assert manifest_lib.frequency_counts(plain, 1001)[[0, 1, 134, 517]].tolist() == [2, 1, 1, 0]


# --- planning -------------------------------------------------------------------------------------


def test_paper_preset_plans_imagenet100_and_the_whole_yfcc15m():
    from cliptail.figures.catalogue import plan_figures
    from cliptail.layout import JobFiles

    config = paper_config()
    assert "imagenet100_val" in config["evalsets"]
    plan = build_plan(config)
    runs = plan.runs_of("open_world")
    by = {(r.method, r.factors["source"], r.factors["classes"]) for r in runs}
    assert by == {
        *((m, "incaps", c) for m in ("clip", "sl") for c in ("in100", "in100_matched", "eval")),
        ("clip", "yfcc15m_cls", "eval"),
        ("clip", "yfcc15m", "eval"),
        ("sl", "yfcc15m_cls", "eval"),
    }
    full = [r for r in runs if r.factors["source"] == "yfcc15m"]
    assert [r.frozen_text for r in full] == [True]
    assert "yfcc15m_full_s1_eval" in plan.datasets
    files = JobFiles(plan, config)
    assert files.real_evalset("imagenet100_val")["imagenet100"].endswith("imagenet100_idxs.txt")
    assert (
        files.real_evalset("imagenet_val")["manifest"]
        == "results/data/imagenet_val/manifest.parquet"
    )
    assert "results/eval/" + full[0].name + "/imagenet100_val.json" in files.study_scalars(
        "open_world"
    )
    jobs = plan_figures(plan, config["figures"]["evalset"], config["evalsets"])
    assert jobs["fig06_open_world"].params["evalset"] == "imagenet100_val"
    assert jobs["fig06b_open_world_web"].params["evalset"] == "imagenet_val"
    # without IN-100 configured, Fig. 6 shows figures.evalset; the world plans no Fig. 6b
    assert plan_figures(plan, "imagenet_val")["fig06_open_world"].params["evalset"] == (
        "imagenet_val"
    )


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ({"method": "sl", "source": "yfcc15m"}, "no label per image for SL"),
        ({"method": "clip", "source": "yfcc15m", "trim_k": 5}, "trim_k needs one class"),
        ({"method": "clip", "source": "yfcc15m", "classes": "in100"}, "IN-Caps only"),
        ({"method": "clip", "source": "yfcc15m", "caption": "title"}, "web sources keep"),
    ],
)
def test_the_whole_yfcc15m_is_clip_only_untrimmed_full_captions(group, message):
    config = paper_config()
    config["studies"] = {"probe": {"runs": [group]}}
    with pytest.raises(factors.FactorError, match=message):
        build_plan(config)
    config["studies"] = {"probe": {"runs": [{"method": "clip", "source": "yfcc15m", "scale": 0.5}]}}
    assert len(build_plan(config).runs) == 1


# --- Fig. 6 on the paper preset's open_world study ---------------------------------------------


def _paper_open_world_table() -> pd.DataFrame:
    """Study rows of every open_world run of the paper preset on its three evaluation sets:
    rho_acc encodes the run (ladder step or source) plus 0.1 for SL, +0.5 on IN-100."""
    config = paper_config()
    plan = build_plan(config)
    step = {"in100": 0.1, "in100_matched": 0.2, "eval": 0.3}
    web = {"yfcc15m_cls": 0.35, "yfcc15m": 0.25}
    rows = []
    for evalset in config["evalsets"]:
        for run in plan.runs_of("open_world"):
            f = {k: v for k, v in run.factors.items() if k in factors.RUN_FACTORS}
            source = f["source"]
            value = web.get(source, step[f["classes"]]) + (0.1 if f["method"] == "sl" else 0.0)
            value += 0.5 if evalset == "imagenet100_val" else 0.0
            rows.append(
                study_row(
                    "open_world",
                    run.name,
                    evalset,
                    preset="paper",
                    **f,
                    rho_acc=value,
                    rho_pred=value / 2,
                    top1=value / 4,
                    num_classes=100 if evalset == "imagenet100_val" else 1000,
                )
            )
    df = pd.DataFrame(rows)
    for column in ("vocab_size", "vocab_weight", "text_tower", "head"):
        df[column] = df[column].astype("string")
    return df


def _line(ax, name):
    (line,) = [a for a in ax.lines if a.get_gid() == f"line:{name}"]
    return line.get_data()


def test_fig06_draws_the_paper_preset_ladder_on_imagenet100():
    import io as bytes_io

    from cliptail import figures

    table = _paper_open_world_table()
    fig = figures.fig06(table, evalset="imagenet100_val")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "IN-Caps-100",
        "IN-Caps (10%)",
        "IN-Caps",
    ]
    x, y = _line(ax, "CLIP (frozen text)")
    assert x.tolist() == [0, 1, 2] and np.allclose(y, [0.6, 0.7, 0.8])
    _, y = _line(ax, "SL (frozen head)")
    assert np.allclose(y, [0.7, 0.8, 0.9])
    _, y = _line(fig.axes[1], "SL (frozen head)")
    assert np.allclose(y, [0.35, 0.4, 0.45])
    _, y = _line(fig.axes[2], "CLIP (frozen text)")
    assert np.allclose(y, [15, 17.5, 20])  # top-1 in percent
    assert len(ax.lines) == 2
    fig.savefig(bytes_io.BytesIO(), format="png")


def test_fig06b_compares_yfcc15m_cls_with_the_whole_list():
    import io as bytes_io

    from cliptail import figures

    table = _paper_open_world_table()
    fig = figures.fig06b(table, evalset="imagenet_val")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["YFCC-15M-Cls", "YFCC-15M"]
    x, y = _line(ax, "CLIP (frozen text)")
    assert x.tolist() == [0, 1] and np.allclose(y, [0.35, 0.25])
    x, y = _line(ax, "SL (frozen head)")
    assert x.tolist() == [0] and np.allclose(y, [0.45])
    fig.savefig(bytes_io.BytesIO(), format="png")
    # the world's open_world study has no YFCC rows: Fig. 6b says so
    world = table[table["source"] == "incaps"]
    with pytest.raises(ValueError, match="no runs on"):
        figures.fig06b(world, evalset="imagenet_val")
