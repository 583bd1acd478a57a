"""Rule generate_world: render the synthetic long-tailed world into resources/world/.

Standalone: python workflow/scripts/generate_world.py --config config/config.yaml --out resources/world
"""

import argparse
from pathlib import Path

from cliptail.data.synthetic import generate_world
from cliptail.runlog import logged


def main(world_params: dict, out_dir: str, log: str | None = None) -> None:
    with logged(log) as logger:
        stats = generate_world(dict(world_params), out_dir, progress=True)
        logger.info(
            "world written to %s: %s", out_dir, {k: v for k, v in stats.items() if k != "params"}
        )


if "snakemake" in globals():
    main(
        snakemake.params.world,
        str(Path(snakemake.output.world).parent),
        snakemake.log[0],
    )
elif __name__ == "__main__":
    from cliptail.config import load_yaml

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--out", default="resources/world")
    args = parser.parse_args()
    main(load_yaml(args.config).get("world", {}), args.out)
