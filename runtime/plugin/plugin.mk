# plugin sources (owned by the component)
