"""Host-side tools for building ukern disks and images."""
