# text tests
