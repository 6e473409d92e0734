# text sources (owned by the component)
