"""Uploads are decoded by the pipeline's own policy (data/images.py); this module only re-exports it.

Kept so that `from .images import BadImage, decode_image` inside serving/ keeps working; new code
imports `..data.images` directly.
"""

from ..data.images import BadImage, decode_image

__all__ = ["BadImage", "decode_image"]
