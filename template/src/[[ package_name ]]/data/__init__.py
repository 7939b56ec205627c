"""Data libraries: the one image-decoding policy (images), the one tensor transform (preprocessing),
the streaming dataset, augmentation, the label map and the raw folder layout (folders)."""
