# Plugin SDK: the plugin ABI header and its pkg-config file.
pluginincludedir = $(includedir)/worker-orcd
plugininclude_HEADERS = abi/worker_plugin.h
pkgconfig_DATA += abi/worker-orcd-plugin.pc
EXTRA_DIST += abi/worker-orcd-plugin.pc.in abi/worker-orcd-plugin-uninstalled.pc.in abi/README.md
# The plugin author's guide and the documented example configuration (engineer C).
dist_doc_DATA += docs/plugins.md docs/worker-orcd.ini
