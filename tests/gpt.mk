# gpt tests
