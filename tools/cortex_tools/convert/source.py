"""What every kind of source becomes before it is written: one frozen graph and its names.

`graph_def` holds no variables (their values are constants); `inputs` and `outputs` map
the names the user knows (a signature's keys, a Keras model's input and output names, a
graph's node names) to tensors of that graph. `run` runs the source model itself, as it
was read (its variables live, not frozen), on arrays keyed by input name: what the written
model must answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Source:
    kind: str  # detect.Kind.name
    location: str  # SRC as the user gave it
    graph_def: object  # tensorflow GraphDef
    inputs: dict[str, str]  # name -> tensor name in graph_def
    outputs: dict[str, str]
    run: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
    layers: list[str] = field(default_factory=list)  # a Keras model's layer names
    notes: list[str] = field(default_factory=list)  # printed after the signature
    keep_alive: object = None  # what owns the variables `run` reads

    def layer_of(self, node: str) -> str | None:
        """The Keras layer a node of the frozen graph comes from: a scope of its name is
        the layer's name (TensorFlow may add _1, _2 to make it unique)."""
        for scope in node.split("/")[:-1]:
            for name in (scope, re.sub(r"_\d+$", "", scope)):
                if name in self.layers:
                    return name
        return None


def key_of(tensor_name: str) -> str:
    """The name a graph's tensor goes by in a signature: its node's name (x:0 -> x,
    x:1 -> x_1)."""
    node, _, index = tensor_name.partition(":")
    return node if index in ("", "0") else f"{node}_{index}"
