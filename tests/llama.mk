# llama tests
