/* Counts the words of the lines it reads, to debug a replayed session (tests/test_reverse.py):
 * the lines come from a recording, so going back and forth meets the same ones. */
#include <stdio.h>

volatile int words;

__attribute__((noinline)) static void count_line(const char *line)
{
    int in_word = 0;
    for (const char *c = line; *c; c++) {
        if (*c == ' ' || *c == '\n') {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words = words + 1;
        }
    }
}

int main(void)
{
    char line[256];
    while (fgets(line, sizeof line, stdin))
        count_line(line);
    printf("gdbinput: %d words\n", words);
    return 0;
}
