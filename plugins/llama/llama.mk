# llama plugin
