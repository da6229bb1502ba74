"""The CXC's shape: the Chandra Data Archive's observation TAP, cone search and file tree."""
