/* The auxiliary vector: the order of entry types, the values that are the
 * same on every run, and properties of the ones that are not (addresses,
 * random bytes). Works for static and static-pie builds. */
#include "common.h"
#include <elf.h>
#include <sys/auxv.h>

extern void _start(void);
extern const Elf64_Ehdr __ehdr_start; /* provided by the linker */

static const char *at_name(unsigned long t) {
    switch (t) {
    case AT_NULL: return "AT_NULL";
    case AT_PHDR: return "AT_PHDR";
    case AT_PHENT: return "AT_PHENT";
    case AT_PHNUM: return "AT_PHNUM";
    case AT_PAGESZ: return "AT_PAGESZ";
    case AT_BASE: return "AT_BASE";
    case AT_FLAGS: return "AT_FLAGS";
    case AT_ENTRY: return "AT_ENTRY";
    case AT_UID: return "AT_UID";
    case AT_EUID: return "AT_EUID";
    case AT_GID: return "AT_GID";
    case AT_EGID: return "AT_EGID";
    case AT_PLATFORM: return "AT_PLATFORM";
    case AT_HWCAP: return "AT_HWCAP";
    case AT_CLKTCK: return "AT_CLKTCK";
    case AT_SECURE: return "AT_SECURE";
    case AT_RANDOM: return "AT_RANDOM";
    case AT_HWCAP2: return "AT_HWCAP2";
    case AT_EXECFN: return "AT_EXECFN";
    case AT_SYSINFO_EHDR: return "AT_SYSINFO_EHDR";
    case 27: return "AT_RSEQ_FEATURE_SIZE";
    case 28: return "AT_RSEQ_ALIGN";
    case 51: return "AT_MINSIGSTKSZ";
    default: return "AT_?";
    }
}

static Elf64_auxv_t *auxv;

static int find(unsigned long type, unsigned long *val) {
    for (Elf64_auxv_t *a = auxv; a->a_type != AT_NULL; a++)
        if (a->a_type == type) {
            *val = a->a_un.a_val;
            return 1;
        }
    return 0;
}

static void print_value(unsigned long type, int hex) {
    unsigned long v;
    if (!find(type, &v)) {
        printf("%s absent\n", at_name(type));
        return;
    }
    if (hex)
        printf("%s 0x%lx\n", at_name(type), v);
    else
        printf("%s %lu\n", at_name(type), v);
    /* glibc rewrites its copy of AT_HWCAP on x86-64; compare the others. */
    unsigned long g = getauxval(type);
    if (type != AT_HWCAP && g != v) {
        printf("FAIL getauxval(%s) = 0x%lx, stack has 0x%lx\n", at_name(type), g, v);
        failures++;
    }
}

int main(int argc, char **argv, char **envp) {
    (void)argc;
    char **e = envp;
    while (*e)
        e++;
    auxv = (Elf64_auxv_t *)(e + 1);

    printf("order:");
    int n = 0;
    for (Elf64_auxv_t *a = auxv; a->a_type != AT_NULL; a++, n++)
        printf(" %s", at_name(a->a_type));
    printf("\nentries %d\n", n);

    print_value(AT_PAGESZ, 0);
    print_value(AT_CLKTCK, 0);
    print_value(AT_HWCAP, 1);
    print_value(AT_HWCAP2, 1);
    print_value(AT_MINSIGSTKSZ, 0);
    print_value(AT_UID, 0);
    print_value(AT_EUID, 0);
    print_value(AT_GID, 0);
    print_value(AT_EGID, 0);
    print_value(AT_SECURE, 0);
    print_value(AT_PHENT, 0);
    print_value(AT_PHNUM, 0);
    print_value(AT_FLAGS, 0);
    print_value(AT_BASE, 1);

    unsigned long v = 0;
    CHECK(find(AT_UID, &v) && v == getuid());
    CHECK(find(AT_EGID, &v) && v == getegid());

    /* AT_ENTRY is where the kernel started us: _start. */
    CHECK(find(AT_ENTRY, &v) && v == (unsigned long)&_start);

    /* AT_PHDR: the program headers the linker put after the ELF header. */
    unsigned long phdr_addr = 0, phnum = 0, phent = 0;
    CHECK(find(AT_PHDR, &phdr_addr) && phdr_addr != 0);
    find(AT_PHNUM, &phnum);
    find(AT_PHENT, &phent);
    const Elf64_Ehdr *eh = &__ehdr_start;
    CHECK(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0);
    CHECK(eh->e_ident[EI_CLASS] == ELFCLASS64);
    CHECK(eh->e_phnum == phnum);
    CHECK(eh->e_phentsize == phent);
    CHECK((unsigned long)eh + eh->e_phoff == phdr_addr);
    printf("e_type %s\n", eh->e_type == ET_DYN ? "ET_DYN" : eh->e_type == ET_EXEC ? "ET_EXEC" : "other");
    const Elf64_Phdr *ph = (const Elf64_Phdr *)phdr_addr;
    const Elf64_Phdr *first_load = NULL, *pt_phdr = NULL;
    for (unsigned long i = 0; i < phnum; i++) {
        if (ph[i].p_type == PT_LOAD && !first_load)
            first_load = &ph[i];
        if (ph[i].p_type == PT_PHDR)
            pt_phdr = &ph[i];
    }
    CHECK(first_load != NULL);
    if (first_load) {
        unsigned long bias = (unsigned long)eh - (first_load->p_vaddr - first_load->p_offset);
        printf("load bias is %s\n", bias == 0 ? "zero" : "non-zero");
        CHECK(first_load->p_offset == 0);
        CHECK(eh->e_entry + bias == (unsigned long)&_start);
        if (pt_phdr) {
            printf("PT_PHDR present\n");
            CHECK(pt_phdr->p_vaddr + bias == phdr_addr);
        } else {
            printf("PT_PHDR absent\n");
        }
    }

    /* AT_EXECFN: the path given to execve, which is argv[0] here. */
    CHECK(find(AT_EXECFN, &v) && strcmp((const char *)v, argv[0]) == 0);

    CHECK(find(AT_PLATFORM, &v));
    if (find(AT_PLATFORM, &v))
        printf("AT_PLATFORM \"%s\"\n", (const char *)v);

    /* AT_RANDOM: 16 readable bytes, not all zero. */
    CHECK(find(AT_RANDOM, &v) && v != 0);
    if (find(AT_RANDOM, &v)) {
        const unsigned char *r = (const unsigned char *)v;
        int nonzero = 0;
        for (int i = 0; i < 16; i++)
            nonzero |= r[i];
        CHECK(nonzero);
    }

    errno = 0;
    CHECK(getauxval(12345) == 0 && errno == ENOENT);
    return finish();
}
