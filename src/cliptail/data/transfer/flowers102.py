"""Oxford Flowers-102 (Nilsback & Zisserman, 2008): 102 flower categories, official splits.

Three files: ``102flowers.tgz`` (``jpg/image_00001.jpg`` ... ``jpg/image_08189.jpg``),
``imagelabels.mat`` (``labels``: 1x8189, the category 1..102 of image k at position k) and
``setid.mat`` (``trnid``, ``valid``, ``tstid``: the image numbers of the training, validation and
test splits, 1,020 / 1,020 / 6,149 images).

Manifest: ``image = jpg/image_<k:05d>.jpg``, label = category - 1, splits as published (the
official validation split included). The dataset files give no category names; they are the
names of the dataset's web page in category order (:data:`NAMES`, the same list as torchvision's,
which keeps the page's "pink-yellow dahlia?"), and the class id is the category number.
"""

from __future__ import annotations

import numpy as np

from cliptail.data.transfer.cars import _loadmat
from cliptail.data.transfer.common import (
    LayoutError,
    ReadContext,
    ReadResult,
    extract_all,
    frame,
    require_file,
)

IMAGES = "102flowers.tgz"
LABELS = "imagelabels.mat"
SETID = "setid.mat"
SPLIT_KEYS = {"train": "trnid", "val": "valid", "test": "tstid"}

NAMES = (
    "pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea",
    "english marigold", "tiger lily", "moon orchid", "bird of paradise", "monkshood",
    "globe thistle", "snapdragon", "colt's foot", "king protea", "spear thistle", "yellow iris",
    "globe-flower", "purple coneflower", "peruvian lily", "balloon flower",
    "giant white arum lily", "fire lily", "pincushion flower", "fritillary", "red ginger",
    "grape hyacinth", "corn poppy", "prince of wales feathers", "stemless gentian", "artichoke",
    "sweet william", "carnation", "garden phlox", "love in the mist", "mexican aster",
    "alpine sea holly", "ruby-lipped cattleya", "cape flower", "great masterwort", "siam tulip",
    "lenten rose", "barbeton daisy", "daffodil", "sword lily", "poinsettia", "bolero deep blue",
    "wallflower", "marigold", "buttercup", "oxeye daisy", "common dandelion", "petunia",
    "wild pansy", "primula", "sunflower", "pelargonium", "bishop of llandaff", "gaura",
    "geranium", "orange dahlia", "pink-yellow dahlia?", "cautleya spicata", "japanese anemone",
    "black-eyed susan", "silverbush", "californian poppy", "osteospermum", "spring crocus",
    "bearded iris", "windflower", "tree poppy", "gazania", "azalea", "water lily", "rose",
    "thorn apple", "morning glory", "passion flower", "lotus", "toad lily", "anthurium",
    "frangipani", "clematis", "hibiscus", "columbine", "desert-rose", "tree mallow", "magnolia",
    "cyclamen", "watercress", "canna lily", "hippeastrum", "bee balm", "ball moss", "foxglove",
    "bougainvillea", "camellia", "mallow", "mexican petunia", "bromelia", "blanket flower",
    "trumpet creeper", "blackberry lily",
)  # fmt: skip


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx, [IMAGES])
    labels = _loadmat(require_file(ctx.files, LABELS, ctx.name), "labels").astype(np.int64)
    setid = require_file(ctx.files, SETID, ctx.name)
    if labels.min() < 1 or labels.max() > len(NAMES):
        raise LayoutError(f"{LABELS}: labels outside 1..{len(NAMES)}")
    rows = []
    for split, key in SPLIT_KEYS.items():
        for k in _loadmat(setid, key).astype(np.int64):
            if not 1 <= k <= len(labels):
                raise LayoutError(f"{SETID}: {key} lists image {k}, outside 1..{len(labels)}")
            rows.append((f"jpg/image_{k:05d}.jpg", int(labels[k - 1]) - 1, split))
    ids = [str(k) for k in range(1, len(NAMES) + 1)]
    return ReadResult(frame(rows), ids, list(NAMES))
