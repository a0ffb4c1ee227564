"""The ``systlab`` command: validate a layered configuration, inspect a raw ROOT/HDF5 file.

``systlab check-config`` answers "will Snakemake accept this config?" before a DAG is built; ``systlab inspect``
lists what a foreign file holds and drafts the ``inputs:`` mapping onto the canonical columns. Every subcommand
imports what it needs when it runs (numpy, uproot, h5py, jsonschema), so ``systlab --help`` stays fast.
Exit codes: 0 success, 2 invalid input (one line on stderr naming file, field and problem, no traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from systlab.cli.check_config import check_config
from systlab.cli.common import EXIT_INVALID, EXIT_OK, CliError, one_line
from systlab.cli.inspect import inspect_file

CHECK_EPILOG = """\
layering (what snakemake does): the Snakefile declares `configfile: config/config.yaml`, and
`snakemake --configfile A.yaml B.yaml` merges A then B on top of it key by key (mappings merge, lists
and scalars are replaced). check-config does the same: the base config is layered first unless it is
among FILEs, so an overlay such as config/tiny.yaml or config/nanoaod_example.yaml can be checked alone.
The base is --base if given, else config/config.yaml in the current directory, else the one of the
systlab checkout. --no-base checks FILEs alone (like snakemake --replace-workflow-config).

`inputs:` entries are validated as systlab ingest reads them (format, columns, object/counts rules) and
their files must exist and match the mapping: each opens, holds the tree/group, every mapped branch or
dataset with a usable type and shape, every expr: evaluates (relative paths from the current directory,
as snakemake sees them; the DAG build checks the same; --no-files skips that).

examples:
  systlab check-config config/config.yaml
  systlab check-config config/tiny.yaml              # = config/config.yaml + config/tiny.yaml
  systlab check-config config/nanoaod_example.yaml --yaml
"""

INSPECT_EPILOG = """\
The draft maps the branches it recognises (NanoAOD Tau_/Muon_/Electron_/MET_/Jet_ pt-eta-phi, the
simulator's own tau_pt ... jet_phi, Px/Py/Pz collections as uproot expressions, genWeight/EventWeight,
event) onto systlab's canonical columns; the rest appear as `# TODO` lines. Review it, then:

  systlab inspect FILE.root --process ttbar -o my_inputs.yaml
  systlab check-config my_inputs.yaml                # layered on config/config.yaml
  snakemake --cores 2 --configfile my_inputs.yaml
"""



def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``systlab`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CliError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # `systlab inspect big.root | head`
        sys.stdout = open(os.devnull, "w")  # the reader is gone: silence the flush at interpreter exit
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its subcommands (nothing heavy imported here)."""
    parser = argparse.ArgumentParser(
        prog="systlab", description="Systematics-aware ML pipeline: configuration and input helpers. "
        "The analysis itself runs through Snakemake (snakemake --cores N).",
    )
    from systlab import __version__

    parser.add_argument("--version", action="version", version=f"systlab {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    check = sub.add_parser(
        "check-config", help="validate one or several layered config YAML files",
        description="Validate config files layered the way snakemake --configfile does and print the resolved\n"
        "analysis (processes, methods, models, variations, nuisance parameters, truths, inputs).\n"
        "On an invalid config: one line on stderr naming the file, the field and the problem; exit code 2.",
        epilog=CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="YAML config files; later ones override earlier")
    base = check.add_mutually_exclusive_group()
    base.add_argument("--base", metavar="FILE", help="base config layered first (default: config/config.yaml)")
    base.add_argument("--no-base", action="store_true", help="check FILEs alone, without the base config")
    check.add_argument("--no-files", action="store_true", help="do not require the files of `inputs:` to exist")
    check.add_argument("--yaml", action="store_true", help="print the merged mapping as YAML instead of a summary")
    check.set_defaults(run=check_config)

    inspect = sub.add_parser(
        "inspect", help="list the trees/groups of a ROOT or HDF5 file and draft its `inputs:` mapping",
        description="List the TTrees (ROOT, via uproot) or groups (HDF5, via h5py) of FILE with their\n"
        "branches/datasets, types and entry counts, then print a draft `inputs:` overlay mapping the\n"
        "recognised branches onto systlab's canonical columns.",
        epilog=INSPECT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inspect.add_argument("file", metavar="FILE", help="a .root or .h5/.hdf5 file")
    inspect.add_argument("--process", help="process name of the draft (default: guessed from the file name)")
    inspect.add_argument("--tree", help="tree (ROOT) or group (HDF5) to draft (default: the best-matching one)")
    inspect.add_argument("--branches", metavar="GLOB", help="list only branches/datasets matching GLOB (e.g. 'Tau_*')")
    inspect.add_argument("--draft-only", action="store_true", help="print only the draft YAML (no listing)")
    inspect.add_argument("-o", "--output", metavar="FILE", help="write the draft to FILE instead of stdout")
    inspect.set_defaults(run=inspect_file)
    return parser
