"""Rule user_provided_file: a user-provided input is missing; say what to place where, and fail."""

from cliptail.runlog import logged

if "snakemake" in globals():
    with logged(snakemake.log[0]):
        raise FileNotFoundError(
            f"{snakemake.output[0]} is missing: it is {snakemake.params.what}, which cannot be "
            "downloaded automatically. Place the file there (or point the config at your copy) "
            "and rerun; see the README section 'The paper preset and its data'."
        )
