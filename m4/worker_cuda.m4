# WORKER_CUDA
# -----------
# Find the CUDA toolkit and set up nvcc for libtool.
#   --with-cuda=DIR        toolkit root (default /usr/local/cuda); --without-cuda builds the
#                          reference host backend only.
#   --with-cuda-arch=LIST  comma-separated SM numbers (default 90).
# Defines HAVE_CUDA, AM_CONDITIONAL HAVE_CUDA, and substitutes NVCC, NVCCFLAGS_ARCH,
# CUDA_CPPFLAGS, CUDA_LDFLAGS, CUDA_LIBS, CUDA_LIBDIR.
AC_DEFUN([WORKER_CUDA], [
  AC_ARG_WITH([cuda],
    [AS_HELP_STRING([--with-cuda=DIR], [CUDA toolkit root @<:@default=/usr/local/cuda@:>@])],
    [], [with_cuda=/usr/local/cuda])
  AC_ARG_WITH([cuda-arch],
    [AS_HELP_STRING([--with-cuda-arch=LIST], [comma-separated SM architectures @<:@default=90@:>@])],
    [CUDA_ARCH_LIST=$withval], [CUDA_ARCH_LIST=90])
  have_cuda=no
  AS_IF([test "x$with_cuda" != xno], [
    AS_IF([test "x$with_cuda" = xyes], [with_cuda=/usr/local/cuda])
    AC_PATH_PROG([NVCC], [nvcc], [], [$with_cuda/bin])
    AS_IF([test -n "$NVCC" && test -f "$with_cuda/include/cuda_runtime.h"], [
      have_cuda=yes
      CUDA_LIBDIR=$with_cuda/lib64
      AS_IF([test -d "$CUDA_LIBDIR"], [], [CUDA_LIBDIR=$with_cuda/lib])
      CUDA_CPPFLAGS="-I$with_cuda/include"
      CUDA_LDFLAGS="-L$CUDA_LIBDIR -Wl,-rpath,$CUDA_LIBDIR"
      CUDA_LIBS="-lcublas -lcudart -lstdc++"
      NVCCFLAGS_ARCH=
      for sm in `echo "$CUDA_ARCH_LIST" | tr ',' ' '`; do
        NVCCFLAGS_ARCH="$NVCCFLAGS_ARCH -gencode=arch=compute_$sm,code=sm_$sm"
      done
    ], [
      AS_IF([test "x$with_cuda" != x/usr/local/cuda],
        [AC_MSG_ERROR([CUDA not found under $with_cuda])])
      AC_MSG_WARN([CUDA toolkit not found: building the reference host backend only])
    ])
  ])
  AS_IF([test "x$have_cuda" = xyes],
    [AC_DEFINE([HAVE_CUDA], [1], [Define to 1 when the CUDA backend is built.])])
  AM_CONDITIONAL([HAVE_CUDA], [test "x$have_cuda" = xyes])
  AC_SUBST([NVCC])
  AC_SUBST([NVCCFLAGS_ARCH])
  AC_SUBST([CUDA_ARCH_LIST])
  AC_SUBST([CUDA_CPPFLAGS])
  AC_SUBST([CUDA_LDFLAGS])
  AC_SUBST([CUDA_LIBS])
  AC_SUBST([CUDA_LIBDIR])
])
