/* For the large-file test programs: a file of `size` bytes whose byte i is pattern(i),
 * written in 64 KiB pieces; returns its descriptor, open for reading and writing. */
#ifndef PATFILE_H
#define PATFILE_H

#include "check.h"
#include <fcntl.h>
#include <unistd.h>

static unsigned char pattern(long i)
{
    return (unsigned char)(i * 7 + i / 4096);
}

static int write_pattern_file(const char *path, long size)
{
    static unsigned char piece[64 * 1024];
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0)
        fail("open %s", path);
    for (long at = 0; at < size; at += sizeof piece) {
        for (long i = 0; i < (long)sizeof piece; i++)
            piece[i] = pattern(at + i);
        if (write(fd, piece, sizeof piece) != (long)sizeof piece)
            fail("write at %ld", at);
    }
    msg("wrote %ld bytes", size);
    return fd;
}

#endif
