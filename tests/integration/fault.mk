# Fault-injection, load and valgrind tests (issue: prove it).
