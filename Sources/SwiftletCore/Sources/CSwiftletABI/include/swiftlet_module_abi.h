/*
 * Swiftlet module ABI (C view).
 *
 * Every module shared object exports one C symbol:
 *
 *     const swiftlet_module_info_t *swiftlet_module_register(const swiftlet_core_info_t *core);
 *
 * The core calls it right after dlopen(). The module answers with the ABI version and
 * the core version it was COMPILED against (these macros are baked into the module at
 * build time), and -- only when both match the core it is loaded into -- a retained
 * pointer to its Swift export table. The core checks the two versions before it touches
 * anything else, so a module built for another core is refused with both versions named.
 *
 * The first three fields of both structs never move, so that any module, past or future,
 * can be checked. Grow the structs only by appending fields; struct_size tells the other side
 * what it got.
 */
#ifndef SWIFTLET_MODULE_ABI_H
#define SWIFTLET_MODULE_ABI_H

#include <stdint.h>

/** Bumped on every incompatible change of the module interface. */
#define SWIFTLET_MODULE_ABI_VERSION 2

/** The core release a module is built against; must match the loading core exactly. */
#define SWIFTLET_CORE_VERSION "0.1.0"

/**
 * A hash of the sources modules compile against (scripts/abi-signature.sh --update writes
 * it; a test fails when it is stale). Swift classes shared with modules have no stable
 * layout, so a module built against other sources is refused, not run.
 */
#define SWIFTLET_SDK_SIGNATURE "0d99e231ab801bd0"

/** The symbol every module exports. */
#define SWIFTLET_MODULE_REGISTER_SYMBOL "swiftlet_module_register"

/** What the core tells a module when it registers it. */
typedef struct swiftlet_core_info {
    uint32_t abi_version;      /* SWIFTLET_MODULE_ABI_VERSION of the core */
    uint32_t struct_size;      /* sizeof(swiftlet_core_info_t) of the core */
    const char *core_version;  /* SWIFTLET_CORE_VERSION of the core */
    const char *sdk_signature; /* SWIFTLET_SDK_SIGNATURE of the core */
} swiftlet_core_info_t;

/** What a module answers. */
typedef struct swiftlet_module_info {
    uint32_t abi_version;      /* SWIFTLET_MODULE_ABI_VERSION the module was compiled with */
    uint32_t struct_size;      /* sizeof(swiftlet_module_info_t) of the module */
    const char *core_version;  /* SWIFTLET_CORE_VERSION the module was compiled against */
    const char *sdk_signature; /* SWIFTLET_SDK_SIGNATURE the module was compiled against */
    const char *name;          /* module name, e.g. "sl" */
    void *exports;             /* +1 retained Swift ModuleExports, or NULL when refused */
} swiftlet_module_info_t;

#endif
