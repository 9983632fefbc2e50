"""What `make convert` prints: what it wrote, the signature, the feed and each tier's max
difference from the source model; or the one line of what stopped it."""

from __future__ import annotations

from cortex_tools.convert.errors import ConvertError
from cortex_tools.convert.saved_model import SERVING_DEFAULT, Signature
from cortex_tools.convert.source import Source
from cortex_tools.convert.verify import Verdict
from cortex_tools.tf21.compare import diff_text

MAX_LISTED = 5


def success(dest: str, source: Source, signature: Signature, stripped: list[str], *,
            how: str, verdicts: list[Verdict]) -> list[str]:
    lines = [f"wrote {dest}: a SavedModel of {source.kind} {source.location}, signature "
             f"{SERVING_DEFAULT}, variables frozen to constants"]
    width = max(len(t.name) for t in [*signature.inputs, *signature.outputs])
    for kind in ("inputs", "outputs"):
        for index, tensor in enumerate(getattr(signature, kind)):
            label = f"{kind}:" if index == 0 else ""
            lines.append(f"  {label:<8} {tensor.name:<{width}}  {tensor.dtype} "
                         f"{tensor.shape_text}")
    if stripped:
        attrs = sorted({name.rsplit(":", 1)[1] for name in stripped})
        lines.append(f"  stripped {len(stripped)} attributes TF 2.1 does not know, each at "
                     f"its default or meaningless ({_listed(attrs)})")
    lines += [f"  note: {note}" for note in source.notes]
    lines.append(f"  checked on {how}")
    for verdict in verdicts:
        lines.append(f"  {verdict.tier}: max |diff| from the source model "
                     f"{diff_text(verdict.comparison.max_diff)}")
    inputs = ", ".join(f'"{t.name}"' for t in signature.inputs)
    # predict() fetches OUTPUTS per example: each needs the batch as its first axis.
    batched = [t for t in signature.outputs if t.shape is None or t.shape[:1] == (None,)]
    outputs = ", ".join(f'"{t.name}"' for t in batched)
    others = [t for t in signature.outputs if t not in batched]
    aside = "; ".join(f'{t.name} {t.shape_text} has no batch axis: in __init__, '
                      f'self.model.evaluate("{t.name}") if it needs no input' for t in others)
    lines.append(f"next: predictor.config `model: {dest}`; in predictor.py, INPUTS = "
                 f"[{inputs}] and OUTPUTS = [{outputs}]" + (f" ({aside})" if aside else ""))
    return lines


def failed_verification(source: Source, how: str, verdicts: list[Verdict]) -> ConvertError:
    bad = next(v for v in verdicts if not v.ok)
    if bad.failure is not None:
        return ConvertError(f"cannot convert {source.location}: the converted model fails in "
                            f"{bad.tier}: {bad.failure.headline}",
                            [*bad.failure.details, f"checked on {how}"])
    problems = bad.comparison.problems
    return ConvertError(f"cannot convert {source.location}: the converted model's outputs "
                        f"in {bad.tier} differ from the source model's: {problems[0]}",
                        [*problems[1:], f"checked on {how}"])


def failure(error: ConvertError, dest: str) -> list[str]:
    return [f"error: {error.line} ({dest} is unchanged)",
            *(f"  {detail}" for detail in error.details)]


def _listed(names: list[str]) -> str:
    return ", ".join(names[:MAX_LISTED]) + (f" and {len(names) - MAX_LISTED} more"
                                            if len(names) > MAX_LISTED else "")
