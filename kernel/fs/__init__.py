"""File systems the kernel can mount (ext2) and the block-device interface they use."""
