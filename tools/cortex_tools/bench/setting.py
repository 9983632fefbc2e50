"""One setting under test, and how it reads in cortex.yaml.

A setting changes only what the bench measures: threads_per_worker, workers_per_replica,
predictor.config's session_strategy and server_side_batching (and, for the overload row,
max_replica_concurrency). The rest of the API's entry stays the user's own.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Any

import yaml

# The batch_interval the bench batches with, as the bundled batched APIs do: a batch waits
# for as many requests as the last one held, at most this long, so under load batches
# fill, and requests one at a time stop waiting after one (tf_session.Batcher).
BATCH_INTERVAL = "2ms"


@dataclass(frozen=True)
class Setting:
    threads: int
    workers: int
    strategy: str | None = None  # None: the API's own config (a predictor without tf_session)
    batch: int | None = None  # server_side_batching.max_batch_size; None: no batching
    max_replica_concurrency: int | None = None  # None: the API's own
    interval: float | str = BATCH_INTERVAL  # server_side_batching.batch_interval

    @property
    def key(self) -> str:
        batch = f" batch={self.batch}" if self.batch else ""
        if self.batch and self.interval != BATCH_INTERVAL:
            batch += f" interval={self.interval}"
        return f"{self.strategy or 'own strategy'} t={self.threads} w={self.workers}{batch}"

    def changes(self) -> dict[str, Any]:
        """The keys this setting sets, nested as in an API's entry."""
        autoscaling = {"threads_per_worker": self.threads, "workers_per_replica": self.workers}
        if self.max_replica_concurrency:
            autoscaling["max_replica_concurrency"] = self.max_replica_concurrency
        config: dict[str, Any] = {"session_strategy": self.strategy} if self.strategy else {}
        if self.batch:
            config["server_side_batching"] = {"max_batch_size": self.batch,
                                              "batch_interval": self.interval}
        return {"autoscaling": autoscaling, **({"predictor": {"config": config}} if config else {})}

    def applied_to(self, entry: dict[str, Any]) -> dict[str, Any]:
        """A copy of the API's entry with this setting in place."""
        entry, changes = copy.deepcopy(entry), self.changes()
        autoscaling = entry.setdefault("autoscaling", {})
        autoscaling.update(changes["autoscaling"])
        config = entry["predictor"].setdefault("config", {})
        if self.strategy:  # a tf_session predictor: batching is part of the setting
            config.pop("server_side_batching", None)
        config.update(changes.get("predictor", {}).get("config", {}))
        # Cortex requires target <= max: keep the user's target unless it breaks that.
        limit = autoscaling.get("max_replica_concurrency", 1024)
        if autoscaling.get("target_replica_concurrency", 0) > limit:
            autoscaling["target_replica_concurrency"] = limit
        return entry

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def paste_line(setting: Setting) -> str:
    """One line of YAML (a flow mapping): the keys to set in the API's entry."""
    return yaml.safe_dump(setting.changes(), default_flow_style=True, sort_keys=False,
                          width=math.inf).strip()


def entry_yaml(entry: dict[str, Any], setting: Setting) -> str:
    """The API's whole entry with the setting applied: a block to replace the old one."""
    return yaml.safe_dump([setting.applied_to(entry)], sort_keys=False).strip()
