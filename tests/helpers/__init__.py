"""What tests share besides fixtures (those stay in tests/conftest.py); no test imports another test
module."""
