# config sources (owned by the component)
