/* Runs a fuzz target (LLVMFuzzerTestOneInput) over committed inputs, without libFuzzer, so
 * that every test build replays each corpus under its sanitizers.
 *
 * Usage: fuzz_<name>_replay PATH...   where each PATH is a file or a directory whose regular
 * files are run (not recursively). Prints how many inputs ran; exits 1 if a path cannot be
 * read or no input ran at all (an empty corpus would make the test pass without testing). A
 * finding aborts, as under libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A corpus input is small; a larger file is not one. */
#define INPUT_BYTES_MAX (16 * 1024 * 1024)

static int run_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    uint8_t *data = stoa_alloc(INPUT_BYTES_MAX);
    size_t size = data != NULL ? fread(data, 1, INPUT_BYTES_MAX, file) : 0;
    int failed = data == NULL || ferror(file) || !feof(file);
    fclose(file);
    if (failed) {
        fprintf(stderr, "replay: cannot read %s (or larger than %d bytes)\n", path,
                INPUT_BYTES_MAX);
        stoa_free(data);
        return -1;
    }
    LLVMFuzzerTestOneInput(data, size);
    stoa_free(data);
    return 0;
}

static int run_directory(const char *path, size_t *count) {
    DIR *directory = opendir(path);
    if (directory == NULL) {
        fprintf(stderr, "replay: cannot open directory %s\n", path);
        return -1;
    }
    int result = 0;
    struct dirent *entry;
    while (result == 0 && (entry = readdir(directory)) != NULL) {
        char file[4096];
        int n = snprintf(file, sizeof(file), "%s/%s", path, entry->d_name);
        struct stat info;
        if (n < 0 || (size_t)n >= sizeof(file) || stat(file, &info) != 0) {
            result = -1;
        } else if (S_ISREG(info.st_mode)) {
            result = run_file(file);
            *count += 1;
        }
    }
    closedir(directory);
    return result;
}

int main(int argc, char **argv) {
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat info;
        if (stat(argv[i], &info) != 0) {
            fprintf(stderr, "replay: no such path %s\n", argv[i]);
            return 1;
        }
        int result = 0;
        if (S_ISDIR(info.st_mode)) {
            result = run_directory(argv[i], &count);
        } else {
            result = run_file(argv[i]);
            count++;
        }
        if (result != 0) {
            return 1;
        }
    }
    printf("replay: %zu inputs ran without a finding\n", count);
    return count > 0 ? 0 : 1;
}
