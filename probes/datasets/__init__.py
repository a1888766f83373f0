"""Download the suite's public data sets into the layout the readers expect.

Run as ``python -m probes.data`` (see :mod:`probes.data.__main__`)::

    python -m probes.data download --what ud-pud,xtreme-xnli --out data/
    python -m probes.data download --what xtreme-tatoeba --langs de,sw --out data/
    python -m probes.data list --data-dir data/

Each resource is a small class registered in :data:`RESOURCES`: it names its
upstream files (:class:`Source`) and turns the downloaded files into the
documented layout (``ud/UD_<Lang>-PUD/...``, ``xtreme/<task>/<split>-<xx>.tsv``,
``xtreme/tatoeba/v1/...``; see docs/data.md).

Downloads stream into ``<out>/.downloads/<key>.part`` and are renamed to
their final name only when complete (an interrupted download resumes with an
HTTP ``Range`` request when rerun). The SHA-256 of every downloaded and every
installed file is recorded in ``<out>/download-manifest.json``; a published
checksum, where a source has one, is verified. Archives are checked before
anything is extracted: absolute member names, ``..`` components, links and
device files are refused. ``--base-url`` fetches every source from a mirror
that serves the same relative paths (``<base-url>/<key>``) instead.

The package is split by job: :mod:`probes.datasets._fetch` (one resumable,
checksummed download; safe archive extraction), :mod:`probes.datasets._resources`
(one class per data set: the one file to touch to add a data set),
:mod:`probes.datasets._download` (the ``download`` and ``list`` functions and
their configs) and :mod:`probes.datasets._cli` (the command line).
"""

from crossling.paths import default_data_dir
from probes.datasets._cli import build_parser, main
from probes.datasets._download import (
    DownloadConfig,
    DownloadReport,
    ListConfig,
    download,
    list_data,
)
from probes.datasets._fetch import (
    MANIFEST,
    Source,
    check_archive,
    extract_archive,
    fetch,
)
from probes.datasets._resources import RESOURCES, Resource

__all__ = [
    "MANIFEST",
    "RESOURCES",
    "DownloadConfig",
    "DownloadReport",
    "ListConfig",
    "Resource",
    "Source",
    "build_parser",
    "check_archive",
    "default_data_dir",
    "download",
    "extract_archive",
    "fetch",
    "list_data",
    "main",
]
