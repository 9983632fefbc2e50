"""What `cortex deploy` would upload, copied to a temporary folder, and a generated config
per setting there: the bench never writes into the user's project, and edits made in it
while the bench runs cannot change what is measured.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from cortex_tools.bench.setting import Setting
from cortex_tools.config_check.project import Project
from cortex_tools.runtime.config import ApiSpec, load_api


class ServedCopy:
    def __init__(self, spec: ApiSpec, folder: Path) -> None:
        self.name, self.folder, self.configs = spec.name, folder, 0
        entries = yaml.safe_load(spec.config_path.read_text())
        self.entry: dict[str, Any] = next(e for e in entries if e.get("name") == spec.name)
        for relative in Project(spec.project_dir, spec.config_path).uploaded_files():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(spec.project_dir / relative, folder / relative)

    def config_for(self, setting: Setting | None) -> Path:
        """A config file in the copy: the API's entry with ``setting`` applied (None: as
        the user wrote it)."""
        self.configs += 1
        path = self.folder / f"cortex-bench-{self.configs}.yaml"
        entry = self.entry if setting is None else setting.applied_to(self.entry)
        path.write_text(yaml.safe_dump([entry], sort_keys=False))
        return path

    def spec(self, setting: Setting | None = None) -> ApiSpec:
        """The copy's API, checked by the runtime's own rules (ConfigError if invalid)."""
        return load_api(self.config_for(setting), self.name)
