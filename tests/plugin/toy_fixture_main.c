/*
 * toy_fixture_main.c - write a toy GGUF: toy_fixture ARCH PATH (used by sdk_test.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "toy_fixture.h"

int main(int argc, char **argv)
{
    toy_fixture f;
    if (argc != 3) {
        fprintf(stderr, "usage: %s ARCH PATH\n", argv[0]);
        return 2;
    }
    toy_fixture_init(&f);
    f.arch = argv[1];
    f.seed = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 10;
    if (toy_fixture_write(&f, argv[2], NULL) != 0) {
        fprintf(stderr, "%s: cannot write %s\n", argv[0], argv[2]);
        return 1;
    }
    return 0;
}
