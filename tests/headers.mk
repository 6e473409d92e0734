# headers tests
