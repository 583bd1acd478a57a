"""The =freq retrieval pool (cliptail.data.laion_retrieval) with hand-made embeddings."""

from __future__ import annotations

import io as stdio
import tarfile

import numpy as np
import pandas as pd
import pytest

from cliptail.data import laion_retrieval as lr
from cliptail.data.images import WebDatasetImageStore
from cliptail.data.metadata import imagenet_classes
from tests.fixtures.real_sources import jpeg_bytes, shared_metadata

B = 100_000_000  # LAION index of part 1's first row
QUERIES = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
#: part 0 (rows 0..3) and part 1 (rows B, B+1)
PART0 = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
PART1 = np.array([[0.8, 0.6], [0.6, 0.8]], dtype=np.float32)


def test_part_topk_known_answer_over_several_batches():
    batches = [(np.arange(3), PART0[:3]), (np.arange(3, 4), PART0[3:])]
    ids, scores = lr.part_topk(QUERIES, batches, k=2, query_block=2)
    assert ids.tolist() == [[0, 1], [2, 1], [0, 1]]
    np.testing.assert_allclose(scores, [[1.0, 0.6], [1.0, 0.8], [1.0, 0.6]], atol=1e-6)
    # a part with fewer rows than k: the rest is empty (NO_ROW, -inf)
    ids, scores = lr.part_topk(QUERIES, [(np.array([B]), PART1[:1])], k=2)
    assert ids.tolist() == [[B, lr.NO_ROW]] * 3
    assert np.isneginf(scores[:, 1]).all()
    with pytest.raises(ValueError, match="k must be >= 1"):
        lr.part_topk(QUERIES, [], k=0)


def test_merge_and_greedy_assignment_known_answer():
    a = lr.part_topk(QUERIES, [(np.arange(4), PART0)], k=2)
    b = lr.part_topk(QUERIES, [(np.array([B, B + 1]), PART1)], k=2)
    ids, scores = lr.merge_topk(a, b)
    # q1: 0.8 from row 1 and from row B+1 (a tie): the smaller LAION index first
    assert ids.tolist() == [[0, B], [2, 1], [0, B]]
    np.testing.assert_allclose(scores, [[1.0, 0.8], [1.0, 0.8], [1.0, 0.8]], atol=1e-6)
    # the same as one search over both parts at once
    both = lr.part_topk(
        QUERIES, [(np.array([0, 1, 2, 3, B, B + 1]), np.vstack([PART0, PART1]))], k=2
    )
    assert both[0].tolist() == ids.tolist()
    # queries in order take their best row not yet taken: q2 (= q0) gets its second best
    chosen, chosen_score = lr.assign_greedy(ids, scores)
    assert chosen.tolist() == [0, 2, B]
    np.testing.assert_allclose(chosen_score, [1.0, 1.0, 0.8], atol=1e-6)
    # rows excluded up front (e.g. LAIONet's): q2 finds none of its k left
    chosen, chosen_score = lr.assign_greedy(ids, scores, exclude=[B])
    assert chosen.tolist() == [0, 2, lr.NO_ROW] and np.isnan(chosen_score[2])
    with pytest.raises(ValueError, match="top-k tables of 3 and 2 queries"):
        lr.merge_topk(a, (b[0][:2], b[1][:2]))


def test_embedded_batches_skip_rows_without_text():
    table = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [0.6, 0.8]}
    texts = ["a", None, "b", float("nan"), "c"]
    encode = lambda xs: np.array([table[x] for x in xs], dtype=np.float32)  # noqa: E731
    got = list(lr.embedded_batches(texts, np.arange(10, 15), encode, batch_rows=2))
    assert [g[0].tolist() for g in got] == [[10], [12], [14]]
    ids, _ = lr.part_topk(QUERIES[:1], got, k=3)
    assert ids.tolist() == [[10, 14, 12]]


def test_incaps_queries_in_file_name_order():
    manifest = pd.DataFrame(
        {
            "image": [
                "train/n2/n2_5.JPEG",
                "train/n1/n1_2.JPEG",
                "train/n1/n1_10.JPEG",
                "train/n1/n1_2.JPEG",
                "train/n0/n1_2.JPEG",
            ],
            "label": [1, 0, 0, 0, 2],
            "caption": ["five", "two", "ten", "again", "other folder"],
        }
    )
    queries = lr.incaps_queries(manifest)
    assert queries["caption"].tolist() == ["ten", "other folder", "two", "five"]
    with pytest.raises(ValueError, match="no 'caption' column"):
        lr.incaps_queries(manifest.drop(columns="caption"))


def test_candidates_take_the_query_class():
    queries = pd.DataFrame({"image": ["x", "y", "z"], "label": [1, 0, 1], "caption": ["", "", ""]})
    rows = pd.DataFrame(
        {
            "laion_index": [7, 3, 9],
            "URL": ["u7", "u3", "u9"],
            "TEXT": ["t7", "t3", "t9"],
            "NSFW": ["UNLIKELY"] * 3,
            "LICENSE": ["?"] * 3,
        }
    )
    out = lr.retrieval_candidates(
        queries, np.array([7, lr.NO_ROW, 3]), np.array([0.9, np.nan, 0.5]), rows, ["wA", "wB"]
    )
    assert out[["laion_index", "wnid", "URL", "query_image"]].values.tolist() == [
        [3, "wB", "u3", "z"],
        [7, "wB", "u7", "x"],
    ]
    with pytest.raises(ValueError, match="1 retrieved LAION rows are not in the parts"):
        lr.retrieval_candidates(queries, np.array([7, 8, 3]), np.ones(3), rows, ["wA", "wB"])


def test_topk_files_round_trip(tmp_path):
    ids, scores = lr.empty_topk(3, 2)
    lr.write_topk(tmp_path / "t.npz", ids, scores)
    got = lr.read_topk(tmp_path / "t.npz")
    assert got[0].tolist() == ids.tolist() and np.isneginf(got[1]).all()


def test_pool_images_resolve_from_the_laionet_shard_folder(tmp_path):
    """The pool's images live in retrieval_shards/ beside LAIONet's shards/ and are named
    relative to the latter (the =freq dataset's image root)."""
    folder = tmp_path / lr.SHARD_FOLDER
    folder.mkdir()
    (tmp_path / "shards").mkdir()
    data = jpeg_bytes(3)
    with tarfile.open(folder / "00000.tar", "w") as tar:
        info = tarfile.TarInfo("000000000.jpg")
        info.size = len(data)
        tar.addfile(info, stdio.BytesIO(data))
    classes = imagenet_classes(shared_metadata())
    pd.DataFrame(
        {
            "key": ["000000000", "000000001"],
            "status": ["success", "failed_to_download"],
            "error_message": [None, "404"],
            "caption": ["a tench", "gone"],
            "url": ["http://x/0.jpg", "http://x/1.jpg"],
            "laion_index": [5, 6],
            "wnid": ["n01440764", "n01440764"],
            "similarity": [0.93, 0.9],
        }
    ).to_parquet(folder / "00000.parquet")
    pool, report = lr.read_retrieval_pool(folder, classes)
    assert pool["image"].tolist() == ["../retrieval_shards/00000.tar/000000000"]
    assert pool["label"].tolist() == [0] and report["failed"] == 1
    np.testing.assert_allclose(pool["retrieval_score"], [0.93], atol=1e-6)
    store = WebDatasetImageStore(tmp_path / "shards")
    handles = store.locate(pool["image"])
    assert store.read_bytes(int(handles[0])) == data
