"""Named arrays between the processes of a check, as .npz files without pickles: the codec
lives with the modules that run on the image stack, which read and write the same files."""

from cortex_tools.image_stack.py36.named_arrays import as_array, load, save

__all__ = ["as_array", "load", "save"]
