# ops sources (owned by the component)
