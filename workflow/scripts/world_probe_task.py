"""Rule world_probe_tasks: the linear-probe tasks of the synthetic world, one dataset folder each.

Standalone: python workflow/scripts/world_probe_task.py --task shape \
    --evalset results/data/eval_val --concepts resources/world/concepts.parquet \
    --out results/data/probe_shape
"""

import argparse

from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.probe_tasks import write_task
from cliptail.runlog import logged


def main(tasks: dict, concepts: str, log: str | None = None) -> None:
    """``tasks``: task -> {"evalset": its evaluation set's folder, "out": the task's folder}."""
    with logged(log) as logger:
        for task, where in tasks.items():
            report = write_task(task, DatasetDir(where["evalset"]), concepts, where["out"])
            logger.info(
                "probe task %s: %d classes, split %s",
                task,
                report["classes"],
                report["split_counts"],
            )


if "snakemake" in globals():
    _smk = snakemake
    main({k: dict(v) for k, v in _smk.params.tasks.items()}, _smk.input.concepts, _smk.log[0])
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--evalset", required=True, help="the evaluation set's folder")
    parser.add_argument("--concepts", required=True, help="the world's concepts.parquet")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    main({args.task: {"evalset": args.evalset, "out": args.out}}, args.concepts)
