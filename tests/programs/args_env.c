/* argc, argv strings and the whole environment, as the harness passed them. */
#include "common.h"

int main(int argc, char **argv, char **envp) {
    printf("argc %d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d] \"%s\" len %zu\n", i, argv[i], strlen(argv[i]));
    CHECK(argv[argc] == NULL);
    int n = 0;
    for (char **e = envp; *e; e++, n++)
        printf("env \"%s\"\n", *e);
    printf("envc %d\n", n);
    const char *v = getenv("RUNSC_TEST_VAR");
    printf("RUNSC_TEST_VAR=%s\n", v ? v : "(unset)");
    CHECK(getenv("RUNSC_TEST_UNSET_VAR") == NULL);
    return finish();
}
