// locked_decls.cc - the same check as locked_decls.c for C++ consumers (g++, clang++):
// the declarations have C linkage and exactly the spec's types.
#include <type_traits>
#include "worker_ffi.h"
#include "worker_ext.h"
#include "locked_signatures.h"

#define CHECK_TYPE(name, ret, params) \
    static_assert(std::is_same<decltype(name), ret params>::value, \
                  #name " does not have the locked signature " #ret " " #params);
LOCKED_FUNCTIONS(CHECK_TYPE)

static_assert(CUDA_ERROR_DEVICE_NOT_FOUND == 8 && CUDA_ERROR_UNKNOWN == 99, "locked codes");

int main() { return 0; }
