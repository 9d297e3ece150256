"""Where a source's repo is read from: the Hub, a local mirror of it, or the mirror bundled with vlmkit.

    locate("lambdalabs/naruto-blip-captions", mirror=None, revision=None)
      -> Location(path="lambdalabs/naruto-blip-captions", kind="hub", revision_sha="c4f3...", notice=None)
    locate(..., mirror="fixtures/hub")
      -> Location(path="/abs/fixtures/hub/lambdalabs/naruto-blip-captions", kind="mirror", ...)

A mirror is a folder `<root>/<org>/<name>/` laid out exactly like the Hub repo (README.md YAML configs or
dataset_infos.json, the same data files): `datasets.load_dataset(<that folder>, config, ...)` reads it the
same way it reads the repo. The mirror root comes from --hub-mirror or VLMDATA_HUB_MIRROR. With neither,
when the Hub is offline (HF_HUB_OFFLINE=1) or unreachable, the tiny mirror bundled with vlmkit
(package data `vlmdata/sources/mirror`, linked as `fixtures/hub` in a checkout) is used, with a notice
saying so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vlmdata.errors import UsageError, VlmDataError

MIRROR_ENV = "VLMDATA_HUB_MIRROR"
# Package data, so a wheel install has it too (fixtures/hub in a checkout is a link to it).
BUNDLED_MIRROR = Path(__file__).resolve().parent / "mirror"


class NetworkError(VlmDataError):
    """The Hub could not be reached, or a transfer failed."""


@dataclass
class Location:
    path: str  # what to hand to datasets.load_dataset
    kind: str  # hub | mirror | bundled | local
    revision_sha: str | None = None
    notice: str | None = None


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _in_mirror(root: Path, repo: str, kind: str, notice: str | None = None) -> Location:
    path = root / repo
    if not path.is_dir():
        raise UsageError(
            f"the Hub mirror {root} has no copy of {repo} (expected the folder {path}); "
            f"add it there, or drop --hub-mirror/{MIRROR_ENV} to read the Hub"
        )
    return Location(str(path), kind, None, notice)


def locate(repo: str, mirror: str | None = None, revision: str | None = None) -> Location:
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    if mirror:
        return _in_mirror(Path(mirror).resolve(), repo, "mirror")
    if _offline():
        return _bundled(repo, "HF_HUB_OFFLINE is set")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        info = HfApi().dataset_info(repo, revision=revision, timeout=15)
    except RevisionNotFoundError:
        raise UsageError(
            f"{repo} has no revision {revision!r}; give a branch, tag or commit that exists"
        ) from None
    except RepositoryNotFoundError:
        raise UsageError(
            f"there is no dataset {repo} on the Hub (or it is gated/private: run `hf auth login`)"
        ) from None
    except HfHubHTTPError as exc:
        raise NetworkError(f"the Hub answered an error for {repo}: {exc}; try again later") from None
    except Exception as exc:  # connection refused, DNS, timeouts: the transport's own exception types
        return _bundled(repo, f"the Hub is unreachable ({type(exc).__name__})")
    return Location(repo, "hub", info.sha)


def _bundled(repo: str, why: str) -> Location:
    if not (BUNDLED_MIRROR / repo).is_dir():
        raise NetworkError(
            f"{why} and no mirror is given, so {repo} cannot be read. Connect to the Hub, or pass "
            f"--hub-mirror DIR (a folder holding {repo} laid out like the repo)"
        )
    notice = (
        f"Notice: {why}; reading the tiny offline mirror of {repo} bundled with vlmkit "
        f"({BUNDLED_MIRROR / repo}). Its rows are test data, not the real dataset."
    )
    return _in_mirror(BUNDLED_MIRROR, repo, "bundled", notice)
