# gguf tests
