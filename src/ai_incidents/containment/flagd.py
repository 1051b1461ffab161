"""Writes containment as a flagd flag file, replaced atomically on every change, so that a
fleet's flagd (or flagd providers in file mode) serve the same flags to every replica."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from ai_incidents.containment.flags import flagd_document
from ai_incidents.containment.state import FeatureContainment

_logger = logging.getLogger(__name__)


class FlagdFileWriter:
    """Call it with a containment snapshot: ``path`` then holds its flags."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __call__(self, snapshot: dict[str, FeatureContainment]) -> None:
        text = json.dumps(flagd_document(snapshot), indent=2, sort_keys=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".flags-")
            with os.fdopen(handle, "w") as file:
                file.write(text)
            os.replace(temporary, self.path)
        except OSError:
            _logger.exception("ai-incidents could not write the flagd file %s", self.path)
