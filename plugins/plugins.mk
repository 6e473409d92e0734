# Architecture plugins: loadable modules, installed into $(pkglibdir)/plugins.
WP_MODULE_FLAGS = -module -avoid-version -no-undefined -shared \
	-export-symbols-regex '^worker_plugin_entry$$'
include plugins/llama/llama.mk
include plugins/gpt/gpt.mk
