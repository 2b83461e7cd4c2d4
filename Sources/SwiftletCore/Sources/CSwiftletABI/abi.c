// The ABI is header-only; this file gives the C target something to compile.
#include "swiftlet_module_abi.h"
