# gpt plugin
