# Documentation shipped in the tarball and installed into $(docdir).
dist_doc_DATA += docs/architecture.md
EXTRA_DIST += tools/device/gpu-check.sh
