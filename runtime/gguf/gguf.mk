# gguf sources (owned by the component)
